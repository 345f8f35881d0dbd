//! `order-producer`: sends orders to Kafka and confirms each delivery.

use std::process::ExitCode;

use order_kafka::cli;
use order_kafka::config;
use order_kafka::exit_codes::{FAILURE, INTERRUPTED, OK, USAGE};

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
    cli::main(
        "order-producer",
        help,
        config::producer,
        |config| &config.seeing,
        cli::produce,
    )
}
