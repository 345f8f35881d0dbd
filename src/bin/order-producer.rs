//! `order-producer`: sends orders to Kafka and confirms each delivery.

use std::io;
use std::process::ExitCode;

use order_kafka::config::{self, Command};
use order_kafka::error::exit;
use order_kafka::producer;

const HELP: &str = "\
order-producer: send orders to Kafka and confirm each delivery

Usage: order-producer [OPTIONS]

With no options, sends one demo order to 'orders' on localhost:9092 and prints
where it was stored.

Orders:
      --user NAME           user of the one order [default: demo-user]
      --item NAME           item of the one order [default: demo-item]
      --quantity N          quantity of the one order, 1..=1000000 [default: 1]
  -n, --count N             send N random orders instead
      --stdin               send JSON lines read from standard input instead
                            (blank lines are skipped, invalid lines reported)
      --strict              stop at the first invalid input line

Connection (flag, then environment variable, then default):
  -b, --brokers LIST        host:port[,host:port...]   KAFKA_BROKERS [localhost:9092]
  -t, --topic NAME          topic                      KAFKA_TOPIC [orders]
      --acks 0|1|all        acknowledgement to wait    KAFKA_ACKS [1]
      --ack-timeout SECS    broker-side ack timeout    KAFKA_ACK_TIMEOUT [10]
      --compression C       none, gzip or snappy       KAFKA_COMPRESSION [none]
      --batch-size N        orders per produce request KAFKA_BATCH_SIZE [500]
      --retries N           attempts per request       KAFKA_RETRIES [10]
      --retry-backoff-ms MS first pause, doubling to 2s KAFKA_RETRY_BACKOFF_MS [200]
      --request-timeout S   longest wait for an answer KAFKA_REQUEST_TIMEOUT [30]

Output:
      --rate N              send at most N orders per second
      --format human|json   one delivery per line as JSON with --format json
  -q, --quiet               print no deliveries, only the summary and errors
  -h, --help                print this help
  -V, --version             print the version

Diagnostics go to stderr; RUST_LOG=debug shows more.

Exit codes:
  0  every order was delivered
  1  the broker could not be reached or refused orders (failed ones are listed)
  2  bad usage or invalid input lines (valid lines were still sent)
";

fn main() -> ExitCode {
    order_kafka::init_logging();
    let config = match config::producer(std::env::args_os().skip(1), |k| std::env::var(k).ok()) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => return print(HELP),
        Ok(Command::Version) => {
            return print(&format!("order-producer {}\n", env!("CARGO_PKG_VERSION")))
        }
        Err(e) => {
            eprintln!("error: {e}\nTry 'order-producer --help'.");
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let (summary, result) =
        producer::run(&config, &mut io::stdin().lock(), &mut io::stdout().lock());
    let single = matches!(config.input, config::Input::One { .. });
    if let Err(e) = &result {
        eprintln!("error: {e}");
    } else if single && summary.sent == 1 && !config.quiet {
        println!("Producer finished sending message");
    }
    if !single || summary.failed > 0 {
        eprintln!("{}", summary.line());
    }
    ExitCode::from(summary.exit_code(&result) as u8)
}

fn print(text: &str) -> ExitCode {
    print!("{text}");
    ExitCode::from(exit::OK as u8)
}
