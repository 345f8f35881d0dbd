//! `order-consumer`: reads orders from Kafka, prints the valid ones, dead-letters the rest.

use std::io;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use order_kafka::config::{self, Command};
use order_kafka::consumer;
use order_kafka::error::exit;

const HELP: &str = "\
order-consumer: read orders from Kafka, print the valid ones, dead-letter the rest

Usage: order-consumer [OPTIONS]

With no options, reads 'orders' on localhost:9092 through the consumer group
'order_consumer_group' (offsets stored in Kafka, from the earliest offset when
the group has none) until interrupted. When the group coordinator stays
unavailable, it falls back to reading every partition from --from without
committing. Invalid messages are logged and published to '<topic>.dlq'.

Options (flag, then environment variable, then default):
  -b, --brokers LIST        host:port[,host:port...]   KAFKA_BROKERS [localhost:9092]
  -t, --topic NAME          topic                      KAFKA_TOPIC [orders]
  -g, --group NAME          consumer group             KAFKA_GROUP [order_consumer_group]
      --no-group            skip the group: manual assignment, no commits
      --from POS            earliest, latest or OFFSET KAFKA_FROM [earliest]
                            (where to start when no offset is committed)
  -p, --partition P         read only partition P (repeatable) [all]
  -n, --max-messages N      stop after N messages (valid or not)
      --idle-timeout SECS   stop after SECS with nothing new KAFKA_IDLE_TIMEOUT
      --commit-every N      commit at least every N records KAFKA_COMMIT_EVERY [100]
      --dlq-topic NAME      dead-letter topic          KAFKA_DLQ_TOPIC [<topic>.dlq]
      --no-dlq              only log invalid messages
      --fetch-wait-ms MS    longest broker wait per fetch KAFKA_FETCH_WAIT_MS [500]
      --fetch-min-bytes N   bytes the broker waits for KAFKA_FETCH_MIN_BYTES [1]
      --fetch-max-bytes N   bytes per partition and fetch KAFKA_FETCH_MAX_BYTES [1048576]
      --retries N           attempts per request       KAFKA_RETRIES [10]
      --retry-backoff-ms MS first pause, doubling to 2s KAFKA_RETRY_BACKOFF_MS [200]
      --request-timeout S   longest wait for an answer KAFKA_REQUEST_TIMEOUT [30]
      --format human|json   one order per line as JSON with --format json
  -h, --help                print this help
  -V, --version             print the version

Ctrl-C or SIGTERM stops after the current batch, commits and prints a summary
on stderr; a second Ctrl-C exits at once (130). Diagnostics go to stderr;
RUST_LOG=debug shows more.

Exit codes:
  0    stopped normally (interrupted, --max-messages, --idle-timeout, closed stdout)
  1    the broker could not be reached or failed a request after all retries
  2    bad usage
  130  interrupted twice
";

fn main() -> ExitCode {
    order_kafka::init_logging();
    let config = match config::consumer(std::env::args_os().skip(1), |k| std::env::var(k).ok()) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => return print(HELP),
        Ok(Command::Version) => {
            return print(&format!("order-consumer {}\n", env!("CARGO_PKG_VERSION")))
        }
        Err(e) => {
            eprintln!("error: {e}\nTry 'order-consumer --help'.");
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // The first signal asks for a clean stop; a second one while stopping exits at once.
        let registered = signal_hook::flag::register_conditional_shutdown(
            signal,
            exit::INTERRUPTED,
            Arc::clone(&stop),
        )
        .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)));
        if let Err(e) = registered {
            eprintln!("error: cannot install a signal handler: {e}");
            return ExitCode::from(exit::FAILURE as u8);
        }
    }
    let (summary, result) = consumer::run(&config, &mut io::stdout().lock(), &stop);
    if result.is_ok() || summary.group.is_some() || !summary.last_offsets.is_empty() {
        eprintln!("{}", summary.line(&config.topic));
    }
    match result {
        Ok(()) => ExitCode::from(exit::OK as u8),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn print(text: &str) -> ExitCode {
    print!("{text}");
    ExitCode::from(exit::OK as u8)
}
