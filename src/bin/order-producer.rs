//! `order-producer`: sends orders to Kafka and confirms each delivery.

use std::io;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use order_kafka::config::{self, Command, Format, Input};
use order_kafka::exit_codes::{FAILURE, INTERRUPTED, OK, USAGE};
use order_kafka::{producer, stats, Error};

fn help() -> String {
    format!(
        "\
order-producer: send orders to Kafka and confirm each delivery

Usage: order-producer [OPTIONS]

With no options, sends one demo order to 'orders' on localhost:9092 and prints
where it was stored. With --stdin, blank lines are skipped and invalid lines
are reported on stderr and not sent.

Each setting comes from its flag, else its Kafka client property given with
-X, else its environment variable, else its property in the --config file,
else its default; a variable or property set to the empty string counts as
unset. Property names are the Java client's (librdkafka's where they differ
are taken too); a file may hold the other program's properties. Ranges
include both ends. Secrets never show in messages or logs.
{options}
Idempotence is on by default and needs --acks all: --acks 0 or 1 turns it off,
unless it was asked for (--idempotence or KAFKA_ENABLE_IDEMPOTENCE=true), which
is then a usage error.

Ctrl-C or SIGTERM stops sending after the current request and prints the
summary on stderr; a second Ctrl-C exits at once ({INTERRUPTED}). Diagnostics go to
stderr; RUST_LOG=debug shows more.

Exit codes:
  {OK:<3}  every order sent was delivered (a signal stops sending early)
  {FAILURE:<3}  the broker could not be reached or refused orders (failed ones are listed)
  {USAGE:<3}  bad usage or invalid input lines (valid lines were still sent)
  {INTERRUPTED:<3}  interrupted twice
",
        options = config::options_help(config::PRODUCER)
    )
}

fn main() -> ExitCode {
    order_kafka::init_logging();
    // The stats file's directory too is checked before anything connects.
    let parsed = config::producer(std::env::args_os().skip(1), env_var).and_then(|command| {
        if let Command::Run(config) = &command {
            stats::check_stats_file(&config.seeing)?;
        }
        Ok(command)
    });
    let config = match parsed {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => return print(&help()),
        Ok(Command::Version) => {
            return print(&format!("order-producer {}\n", env!("CARGO_PKG_VERSION")))
        }
        Err(e) => {
            eprintln!("error: {e}\nTry 'order-producer --help'.");
            return exit(e.exit_code());
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    if let Err(e) = stop_on_signals(&stop) {
        eprintln!("error: cannot install a signal handler: {e}");
        return exit(FAILURE);
    }
    let (summary, result) = producer::run(
        &config,
        &mut io::stdin().lock(),
        &mut io::stdout().lock(),
        &stop,
    );
    let single = matches!(config.input, Input::One { .. });
    let interrupted = matches!(result, Err(Error::Interrupted));
    match &result {
        Err(Error::Interrupted) => log::info!("stopped by a signal"),
        Err(e) => eprintln!("error: {e}"),
        // The seed's closing line, for people; JSON output stays JSON lines only.
        Ok(())
            if single && summary.sent == 1 && !config.quiet && config.format == Format::Human =>
        {
            println!("Producer finished sending message")
        }
        Ok(()) => {}
    }
    if !single || summary.failed > 0 || config.quiet || interrupted {
        match config.format {
            Format::Human => eprintln!("{}", summary.line()),
            Format::Json => eprintln!("{}", summary.json()),
        }
    }
    exit(summary.exit_code(&result))
}

/// The environment as `config` reads it; a value that is not UTF-8 comes through mangled, so
/// that it is refused with its name rather than taken as unset.
fn env_var(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// The first SIGINT or SIGTERM sets `stop` (the run ends cleanly and soon); a second one, while
/// stopping, exits at once.
fn stop_on_signals(stop: &Arc<AtomicBool>) -> io::Result<()> {
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, INTERRUPTED, Arc::clone(stop))?;
        signal_hook::flag::register(signal, Arc::clone(stop))?;
    }
    Ok(())
}

fn print(text: &str) -> ExitCode {
    print!("{text}");
    exit(OK)
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
