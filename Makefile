# Order producer and consumer on Kafka. `make help` lists the targets.
#
# The broker runs in Docker (docker-compose.yml) when a Docker engine answers, otherwise as a
# local Apache Kafka on Java 17 (scripts/kafka-local). Either way it listens on localhost:9092.
# The Schema Registry (Apicurio, Confluent-compatible API) likewise: in Docker with the broker,
# or `make registry` (scripts/registry-local); either way on localhost:8081.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

KAFKA_VERSION ?= $(shell sed -n 's/^KAFKA_VERSION=//p' .env)
export KAFKA_VERSION
# The older Kafka line `make test` runs the protocol-path tests against, on a second broker.
KAFKA_COMPAT_VERSION ?= $(shell sed -n 's/^KAFKA_COMPAT_VERSION=//p' .env)
COMPAT_PORT ?= 19392
COMPAT_TESTS := producer:: consumer:: codecs:: groups:: group_edges:: faults::failover:: spool::

BROKERS ?= localhost:9092
TOPIC ?= orders
PARTITIONS ?= 1
ARGS ?=
BENCH_N ?= 100000

RELEASE := target/release
STATIC_TARGETS := x86_64-unknown-linux-musl aarch64-unknown-linux-musl
# `docker info` answers only when an engine runs; the client alone is not enough.
DOCKER := $(shell docker info >/dev/null 2>&1 && echo yes)

# $(call need,CHECK,PACKAGE): what a target needs beyond the README's prerequisites. When the
# shell command CHECK fails, the Debian PACKAGE is installed (as root), or make stops at once
# with the command to run.
need = $(1) >/dev/null 2>&1 || { \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "make $@: installing $(2) with apt-get"; \
	    apt-get update -qq || true; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
	else \
	    echo "make $@ needs $(2): run \`sudo apt-get install -y $(2)\`, then make $@ again" >&2; \
	    exit 1; \
	fi; }

.PHONY: help up down registry topic produce consume demo build static test test-static bench logs clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' Makefile | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'
	@echo "  Variables: BROKERS=$(BROKERS) TOPIC=$(TOPIC) PARTITIONS=$(PARTITIONS) ARGS=..."

up: ## Start Kafka (Docker if an engine runs, with the Schema Registry; else the local runner)
ifeq ($(DOCKER),yes)
	@echo "make up: Docker engine found: docker compose up"
	docker compose up -d --wait
else
	@echo "make up: no Docker engine: starting Apache Kafka $(KAFKA_VERSION) with scripts/kafka-local"
	scripts/kafka-local start
endif

down: ## Stop the broker that `make up` started (and the registry `make registry` started)
ifeq ($(DOCKER),yes)
	docker compose down
else
	scripts/kafka-local stop
	if scripts/registry-local status >/dev/null; then scripts/registry-local stop; fi
endif

registry: ## Start the Schema Registry on localhost:8081 (Docker if an engine runs, else scripts/registry-local)
ifeq ($(DOCKER),yes)
	docker compose up -d --wait registry
else
	@$(call need,command -v curl,curl)
	scripts/registry-local start
endif

topic: ## Create TOPIC (PARTITIONS partitions, replication 1) and its dead-letter topic
ifeq ($(DOCKER),yes)
	for t in $(TOPIC) $(TOPIC).dlq; do \
	  docker compose exec kafka /opt/kafka/bin/kafka-topics.sh --bootstrap-server localhost:9092 \
	    --create --if-not-exists --topic $$t --partitions $(PARTITIONS) --replication-factor 1; \
	done
else
	scripts/kafka-local topic $(TOPIC) $(PARTITIONS)
	scripts/kafka-local topic $(TOPIC).dlq 1
endif

produce: build ## Send one order (ARGS="--count 100" for more)
	$(RELEASE)/order-producer -b $(BROKERS) -t $(TOPIC) $(ARGS)

consume: build ## Read orders until Ctrl-C (ARGS="--idle-timeout 5" to stop when idle)
	$(RELEASE)/order-consumer -b $(BROKERS) -t $(TOPIC) $(ARGS)

demo: ## Broker up, topic, 10 orders produced and consumed back, one-line verdict
	scripts/demo

build: ## Build both binaries (release, size-tuned)
	cargo build --release --locked

static: ## Static musl binaries (default and TLS builds, pinned nightly) for x86_64, aarch64, armv7 into dist/; fails over budget
	@$(call need,command -v file,file)
	scripts/build-static

# The tests' Python checkers (jsonschema for the order schema, prometheus_client's parser for the
# stats file, confluent-kafka's Schema Registry client and its Avro (fastavro) and JSON Schema
# serializers as the registry tests' judge) live in a venv of their own, made once.
PY_CHECKERS := 'jsonschema>=4.18,<5' 'prometheus_client>=0.17' \
	'confluent-kafka[avro,json,schemaregistry]>=2.10,<3' 'fastavro>=1.9,<2'
PY_IMPORTS := import jsonschema, prometheus_client, fastavro; \
	from confluent_kafka.schema_registry import SchemaRegistryClient; \
	from confluent_kafka.schema_registry.avro import AvroSerializer, AvroDeserializer; \
	from confluent_kafka.schema_registry.json_schema import JSONSerializer, JSONDeserializer
test: export IT_PYTHON := $(CURDIR)/target/schema-venv/bin/python
test: ## Unit tests, then integration tests against real brokers and a Schema Registry (started if none runs)
	@$(call need,command -v kcat,kcat)
	@$(call need,command -v tcpdump,tcpdump)
	@$(call need,command -v openssl,openssl)
	@$(call need,command -v curl,curl)
	@$(IT_PYTHON) -c '$(PY_IMPORTS)' 2>/dev/null || { \
	  $(call need,python3 -m ensurepip --version,python3-venv); \
	  echo "make test: installing jsonschema, prometheus_client, confluent-kafka and fastavro into target/schema-venv"; \
	  python3 -m venv --clear target/schema-venv; \
	  target/schema-venv/bin/pip install -q $(PY_CHECKERS); }
	cargo test --locked --lib --bins
	cargo test --locked --features tls --lib --bins
	@echo "make test: integration tests against Apache Kafka $(KAFKA_VERSION) on 127.0.0.1:9092 (and the secured one on :29092-29095) and Apicurio Registry on 127.0.0.1:8081, TLS build"
	IT_KAFKA_VERSION=$(KAFKA_VERSION) scripts/with-broker scripts/with-registry cargo test --locked --features tls --test it
	@echo "make test: protocol-path tests against Apache Kafka $(KAFKA_COMPAT_VERSION) on 127.0.0.1:$(COMPAT_PORT), default build"
	KAFKA_VERSION=$(KAFKA_COMPAT_VERSION) KAFKA_PORT=$(COMPAT_PORT) \
	  IT_KAFKA_VERSION=$(KAFKA_COMPAT_VERSION) IT_BROKER=127.0.0.1:$(COMPAT_PORT) \
	  scripts/with-broker cargo test --locked --test it -- $(COMPAT_TESTS)
	@# Brokers that single tests start stop with them; these lines catch an aborted run.
	@for port in 19092 23092 25092; do KAFKA_PORT=$$port scripts/kafka-local stop 2>/dev/null; done
	@scripts/kafka-local cluster stop 2>/dev/null
	@scripts/kafka-local secure stop 2>/dev/null

test-static: static ## Round trip with the static binaries, ARM ones under qemu-user
	scripts/with-broker scripts/test-static

bench: ## Benchmarks against kcat and confluent-kafka into docs/benchmarks.md (BENCH_N orders, BENCH_BIG_N in the steady state; Avro through a registry)
	@$(call need,test -x /usr/bin/time,time)
	@$(call need,python3 -m ensurepip --version,python3-venv)
	@$(call need,command -v curl,curl)
	@$(call need,command -v strace,strace)
	BENCH_N=$(BENCH_N) scripts/with-broker scripts/bench

logs: ## Follow the broker's log
ifeq ($(DOCKER),yes)
	docker compose logs -f kafka
else
	scripts/kafka-local logs
endif

clean: ## Remove build output and local broker data (stop the broker first)
	cargo clean
	rm -rf dist .kafka-local .registry-local kafka-data .bench
