//! What both binaries do around their one library call: parse the arguments (printing the help
//! or the version when asked), check the stats file, install the signal handlers, run, print the
//! summary, and map the result to an exit code ([`crate::exit_codes`]). A binary is its help text
//! and a call to [`main`]; nothing here ends the process: `main` returns the code.

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::config::SpoolConfig;
use crate::config::{Command, ConsumerConfig, Format, Input, ProducerConfig, Seeing};
use crate::exit_codes::{FAILURE, INTERRUPTED, OK};
use crate::{consumer, forward, lag, producer, stats, Error};

/// How `main` reads the environment: a function, as the config takes it.
pub type Env = fn(&str) -> Option<String>;

/// The flow of a binary named `name`: `parse` its arguments, print `help()` or the version when
/// asked, else `run` the config until done or `stop`ped by a signal, and return its exit code.
pub fn main<C>(
    name: &str,
    help: fn() -> String,
    parse: impl FnOnce(std::iter::Skip<std::env::ArgsOs>, Env) -> Result<Command<C>, Error>,
    seeing: fn(&C) -> &Seeing,
    run: fn(&C, &AtomicBool) -> i32,
) -> ExitCode {
    crate::init_logging();
    // The stats file's directory too is checked before anything connects.
    let parsed = parse(std::env::args_os().skip(1), env_var).and_then(|command| {
        if let Command::Run(config) = &command {
            stats::check_stats_file(seeing(config))?;
        }
        Ok(command)
    });
    let config = match parsed {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => return print(&help()),
        Ok(Command::Version) => return print(&format!("{name} {}\n", env!("CARGO_PKG_VERSION"))),
        Err(e) => {
            eprintln!("error: {e}\nTry '{name} --help'.");
            return exit(e.exit_code());
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    if let Err(e) = stop_on_signals(&stop) {
        eprintln!("error: cannot install a signal handler: {e}");
        return exit(FAILURE);
    }
    let code = run(&config, &stop);
    #[cfg(feature = "count-allocs")]
    eprintln!("heap allocations: {}", crate::alloc_count::total());
    exit(code)
}

/// `order-producer`'s run: send, then the summary on stderr (for a single order only when it
/// failed, `--quiet` hid it or a signal stopped it), and the exit code of what was delivered.
pub fn produce(config: &ProducerConfig, stop: &AtomicBool) -> i32 {
    if let Some(spool) = &config.spool {
        return store_and_forward(config, spool, stop);
    }
    // Input read and output written in large blocks: the producer flushes after each batch's
    // deliveries.
    let mut out = io::BufWriter::with_capacity(OUTPUT_BUFFER, io::stdout().lock());
    let (summary, result) = producer::run(
        config,
        &mut io::BufReader::with_capacity(crate::input::INPUT_BLOCK, io::stdin().lock()),
        &mut out,
        stop,
    );
    // Whatever is left was flushed by the run, or the output is gone: nothing to report here.
    let _ = out.flush();
    drop(out);
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
    summary.exit_code(&result)
}

/// `order-producer --spool`'s run: spool and forward, then the summary on stderr. The uplink
/// down past the retry policy ends a run that spooled with 0 (the orders are safe in the spool);
/// `--drain` without an uplink, a damaged spool, a full one or a fenced id end it with 1.
fn store_and_forward(config: &ProducerConfig, spool: &SpoolConfig, stop: &AtomicBool) -> i32 {
    let mut out = io::BufWriter::with_capacity(OUTPUT_BUFFER, io::stdout().lock());
    let (summary, result) = forward::run(
        config,
        spool,
        &mut io::BufReader::with_capacity(crate::input::INPUT_BLOCK, io::stdin().lock()),
        &mut out,
        stop,
    );
    let _ = out.flush();
    drop(out);
    match &result {
        Err(Error::Interrupted) => log::info!("stopped by a signal"),
        Err(e) => eprintln!("error: {e}"),
        Ok(()) => {}
    }
    match config.format {
        Format::Human => eprintln!("{}", summary.line()),
        Format::Json => eprintln!("{}", summary.json()),
    }
    match result {
        Err(e) => e.exit_code(),
        Ok(()) if summary.invalid > 0 => crate::exit_codes::USAGE,
        Ok(()) => OK,
    }
}

/// `order-consumer`'s run: the lag (`--lag`), or read until stopped, then the summary; a signal
/// is a normal end.
pub fn consume(config: &ConsumerConfig, stop: &AtomicBool) -> i32 {
    if config.lag {
        return match lag::show(config, &mut io::stdout().lock(), stop) {
            Ok(()) | Err(Error::Interrupted) => OK,
            Err(e) => {
                eprintln!("error: {e}");
                e.exit_code()
            }
        };
    }
    // The consumer flushes once per fetch (and before each commit).
    let mut out = io::BufWriter::with_capacity(OUTPUT_BUFFER, io::stdout().lock());
    let (summary, result) = consumer::run(config, &mut out, stop);
    let _ = out.flush();
    drop(out);
    let interrupted = matches!(result, Err(Error::Interrupted));
    if result.is_ok() || interrupted || summary.group.is_some() || !summary.last_offsets.is_empty()
    {
        match config.format {
            Format::Human => eprintln!("{}", summary.line(&config.topic)),
            Format::Json => eprintln!("{}", summary.json(&config.topic)),
        }
    }
    match result {
        Ok(()) => OK,
        Err(Error::Interrupted) => {
            log::info!("stopped by a signal");
            OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Bytes of output gathered before a write (a fetch's orders are flushed when it is done).
const OUTPUT_BUFFER: usize = 256 << 10;

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
