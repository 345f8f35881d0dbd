//! `order-consumer`: reads orders from Kafka, prints the valid ones, dead-letters the rest.

use std::process::ExitCode;

use order_kafka::cli;
use order_kafka::config;
use order_kafka::exit_codes::{FAILURE, INTERRUPTED, OK, USAGE};

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
    cli::main(
        "order-consumer",
        help,
        config::consumer,
        |config| &config.seeing,
        cli::consume,
    )
}
