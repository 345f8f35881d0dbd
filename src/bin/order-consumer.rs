//! `order-consumer`: reads orders from Kafka, prints the valid ones, dead-letters the rest.

use std::io;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use order_kafka::config::{self, Command, Format};
use order_kafka::exit_codes::{FAILURE, INTERRUPTED, OK, USAGE};
use order_kafka::{consumer, lag, stats, Error};

fn help() -> String {
    format!(
        "\
order-consumer: read orders from Kafka, print the valid ones, dead-letter the rest

Usage: order-consumer [OPTIONS]

With no options, reads 'orders' on localhost:9092 through the consumer group
'order_consumer_group' (offsets stored in Kafka, from the earliest offset when
the group has none) until interrupted. When the group coordinator stays
unavailable, it falls back to reading every partition from --from without
committing. Invalid records are logged and published to '<topic>.dlq'.

Each setting comes from its flag, else its Kafka client property given with
-X, else its environment variable, else its property in the --config file,
else its default; a variable or property set to the empty string counts as
unset. Property names are the Java client's (librdkafka's where they differ
are taken too); a file may hold the other program's properties. Ranges
include both ends. Secrets never show in messages or logs.
{options}
A first Ctrl-C or SIGTERM stops cleanly and exits {OK} in every phase (connecting,
retrying, reading): what was read is committed and a summary printed on stderr.
A second Ctrl-C exits at once ({INTERRUPTED}). Diagnostics go to stderr;
RUST_LOG=debug shows more.

Exit codes:
  {OK:<3}  stopped normally (signal, --max-messages, --idle-timeout, closed stdout)
  {FAILURE:<3}  the broker could not be reached or failed a request after all retries
  {USAGE:<3}  bad usage
  {INTERRUPTED:<3}  interrupted twice
",
        options = config::options_help(config::CONSUMER)
    )
}

fn main() -> ExitCode {
    order_kafka::init_logging();
    // The stats file's directory too is checked before anything connects.
    let parsed = config::consumer(std::env::args_os().skip(1), env_var).and_then(|command| {
        if let Command::Run(config) = &command {
            stats::check_stats_file(&config.seeing)?;
        }
        Ok(command)
    });
    let config = match parsed {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => return print(&help()),
        Ok(Command::Version) => {
            return print(&format!("order-consumer {}\n", env!("CARGO_PKG_VERSION")))
        }
        Err(e) => {
            eprintln!("error: {e}\nTry 'order-consumer --help'.");
            return exit(e.exit_code());
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    if let Err(e) = stop_on_signals(&stop) {
        eprintln!("error: cannot install a signal handler: {e}");
        return exit(FAILURE);
    }
    if config.lag {
        return match lag::show(&config, &mut io::stdout().lock(), &stop) {
            Ok(()) | Err(Error::Interrupted) => exit(OK),
            Err(e) => {
                eprintln!("error: {e}");
                exit(e.exit_code())
            }
        };
    }
    let (summary, result) = consumer::run(&config, &mut io::stdout().lock(), &stop);
    let interrupted = matches!(result, Err(Error::Interrupted));
    if result.is_ok() || interrupted || summary.group.is_some() || !summary.last_offsets.is_empty()
    {
        match config.format {
            Format::Human => eprintln!("{}", summary.line(&config.topic)),
            Format::Json => eprintln!("{}", summary.json(&config.topic)),
        }
    }
    match result {
        Ok(()) => exit(OK),
        Err(Error::Interrupted) => {
            log::info!("stopped by a signal");
            exit(OK)
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit(e.exit_code())
        }
    }
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
