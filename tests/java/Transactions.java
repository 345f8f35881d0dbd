// Writes records in Kafka transactions with Apache Kafka's own Java producer, for the tests that
// check what `order-consumer` shows of committed and aborted transactions.
//
//   scripts/kafka-local run tests/java/Transactions.java BOOTSTRAP TOPIC TRANSACTIONAL_ID < script
//
// Each stdin line is `KEY|VALUE` (a record of the open transaction, which the first record
// begins), `commit` or `abort`. Records are flushed before an abort, so the aborted ones are in
// the log too, as they are when a real producer fails mid-transaction.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

public class Transactions {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: Transactions.java BOOTSTRAP TOPIC TRANSACTIONAL_ID < script");
            System.exit(2);
        }
        Properties config = new Properties();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, args[2]);
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        String topic = args[1];
        BufferedReader script = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(config)) {
            producer.initTransactions();
            boolean open = false;
            int sent = 0;
            for (String line = script.readLine(); line != null; line = script.readLine()) {
                if (line.equals("commit") || line.equals("abort")) {
                    if (!open) {
                        throw new IllegalStateException(line + " without a record before it");
                    }
                    producer.flush();
                    if (line.equals("commit")) {
                        producer.commitTransaction();
                    } else {
                        producer.abortTransaction();
                    }
                    System.out.println(line + " " + sent);
                    open = false;
                    sent = 0;
                } else {
                    int bar = line.indexOf('|');
                    if (bar < 0) {
                        throw new IllegalArgumentException("not KEY|VALUE, commit or abort: " + line);
                    }
                    if (!open) {
                        producer.beginTransaction();
                        open = true;
                    }
                    producer.send(new ProducerRecord<>(topic, line.substring(0, bar), line.substring(bar + 1)));
                    sent++;
                }
            }
            if (open) {
                throw new IllegalStateException("the script ends inside a transaction");
            }
        }
    }
}
