# Survey gateway: build, test and run.
#   make          build build/gateway
#   make run      install missing packages, build, start on gateway.conf (else the example)
#   make test     install missing packages, lint, check the layers, build, run every test
#                 (unit, end-to-end, ASan+UBSan)
#   make lint     refuse banned C functions (strcpy, sprintf, atoi, strtok...) in every .c/.h;
#                 hold the .c/.h lines changed since LINT_BASE (default: the merge base with
#                 main, else HEAD~1) to .clang-format, older lines unchecked (tools/lint.sh)
#   make layers   tools/check-layers.sh: no include from a layer above, no include rings
#   make asan     the tests only, under AddressSanitizer + UBSan
#   make valgrind the unit tests under valgrind
#   make bench    optimised build, load tests on loopback: a table and bench/results.json
#   make soak     the same build under SOAK_DURATION s (180) of triggers, sends and replies at
#                 once: a line every 10 s (files, RSS, fds, CPU, latency), build/bench/soak/soak.log
# Packages come from Debian 12; `make deps` installs what is missing (as root) or says what to run.

CC       ?= cc
PKGS     := libcurl jansson libmicrohttpd sqlite3 libcrypto libpq
DEB_PKGS := build-essential pkg-config libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev libssl-dev \
            libsqlite3-dev libpq-dev libcmocka-dev curl tzdata clang-format
# The tests also start a PostgreSQL server of their own (tools/pg-cluster.sh).
TEST_DEB_PKGS := postgresql
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
DEFS     := -D_GNU_SOURCE
# One -I per layer (docs/architecture.md), lowest first; tools/check-layers.sh keeps them apart.
INCS     := -Ilib -Iproviders -Istore -Istore/sqlite -Istore/postgres -Isurvey -Igateway
OPT      ?= -O2 -g
SAN      ?=
CFLAGS_ALL = $(WARN) $(DEFS) $(INCS) $(OPT) $(SAN) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS     = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
TEST_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)
B        ?= build
TEST_BACKENDS ?= sqlite postgres
# End-to-end tests that always put the store on PostgreSQL: run once.
PG_ONLY_E2E = $(B)/tests/test_e2e_postgres $(B)/tests/test_e2e_instances
# Unit tests that open a store (tests/support/unit.c temp_store): run again on PostgreSQL.
STORE_TESTS = $(B)/tests/test_store $(B)/tests/test_customers $(B)/tests/test_events \
              $(B)/tests/test_export $(B)/tests/test_report

LAYERS   := lib providers store store/sqlite store/postgres survey gateway
LIB_SRC  := $(filter-out gateway/main.c,$(foreach d,$(LAYERS),$(wildcard $(d)/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
SUPPORT_SRC := $(wildcard tests/support/*.c)
SUPPORT_OBJ := $(SUPPORT_SRC:%.c=$(B)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(B)/tests/%)

.PHONY: all run test asan check valgrind deps clean bench layers bench-build soak
all: $(B)/gateway

$(B)/obj/%.o: %.c $(foreach d,$(LAYERS),$(wildcard $(d)/*.h)) $(wildcard tests/support/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(B)/gateway: $(B)/obj/gateway/main.o $(LIB_OBJ)
	$(CC) $(OPT) $(SAN) -o $@ $^ $(LIBS)

$(B)/tests/%: $(B)/obj/tests/%.o $(LIB_OBJ) $(SUPPORT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(OPT) $(SAN) -o $@ $^ $(LIBS) $(TEST_LIBS)

# Runs every test binary, then the end-to-end ones and the store's unit tests (STORE_TESTS) again
# with the store on PostgreSQL (TEST_BACKENDS: the backends they run on; GATEWAY_TEST_BACKEND
# tells the tests); end-to-end tests find the gateway through
# GATEWAY_BIN.  Tests of the PostgreSQL store use GATEWAY_TEST_PG_URL, else a throwaway cluster
# started here and stopped after (tools/pg-cluster.sh: about a second; GATEWAY_TEST_PG_DIR
# names it, for the tests that stop and restart it).
check: $(B)/gateway $(TEST_BIN)
	@if [ -z "$$GATEWAY_TEST_PG_URL" ]; then \
	  pgdir=$$(mktemp -d /tmp/gateway-pg.XXXXXX) && \
	  trap 'bash tools/pg-cluster.sh stop '"$$pgdir" EXIT && trap 'exit 1' INT TERM && \
	  GATEWAY_TEST_PG_URL=$$(bash tools/pg-cluster.sh start "$$pgdir") || exit 1; \
	  GATEWAY_TEST_PG_DIR=$$pgdir; export GATEWAY_TEST_PG_URL GATEWAY_TEST_PG_DIR; \
	fi; \
	failed=0; for t in $(TEST_BIN); do \
	  echo "== $$t"; GATEWAY_BIN=$(B)/gateway FIXTURES=tests/fixtures $$t || failed=1; \
	done; \
	for t in $(if $(filter postgres,$(TEST_BACKENDS)),$(filter-out $(PG_ONLY_E2E),$(filter $(B)/tests/test_e2e_%,$(TEST_BIN)))); do \
	  echo "== $$t (store on PostgreSQL)"; \
	  GATEWAY_TEST_BACKEND=postgres GATEWAY_BIN=$(B)/gateway FIXTURES=tests/fixtures $$t || failed=1; \
	done; \
	for t in $(if $(filter postgres,$(TEST_BACKENDS)),$(STORE_TESTS)); do \
	  echo "== $$t (store on PostgreSQL)"; \
	  GATEWAY_TEST_BACKEND=postgres GATEWAY_BIN=$(B)/gateway FIXTURES=tests/fixtures $$t || failed=1; \
	done; exit $$failed

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "missing packages; run:"; echo "  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p var
	@conf=gateway.conf; [ -f $$conf ] || conf=gateway.conf.example; \
	  echo "starting build/gateway serve -c $$conf"; exec $(B)/gateway serve -c $$conf

# The shape of the code: no #include from a layer above, no modules that include each other.
layers:
	@bash tools/check-layers.sh && echo "layers: every include runs one way"

test:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(DEB_PKGS) $(TEST_DEB_PKGS)"
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory layers
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory asan

# Banned functions in every tracked .c/.h, then the layout of the lines changed since LINT_BASE
# (tools/lint.sh says how the base is chosen).  clang-format comes with `make deps`.
.PHONY: lint
lint:
	@LINT_BASE="$(LINT_BASE)" bash tools/lint.sh

# Under the sanitizers the end-to-end tests run on SQLite only (the PostgreSQL store's own tests,
# test_e2e_postgres and test_e2e_instances run all the same): CI stays well under 30 minutes.
asan:
	@$(MAKE) --no-print-directory check B=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" TEST_BACKENDS=sqlite

valgrind: $(TEST_BIN)
	@for t in $(filter-out $(B)/tests/test_e2e_%,$(TEST_BIN)); do \
	  FIXTURES=tests/fixtures valgrind -q --error-exitcode=1 --leak-check=full $$t || exit 1; done

clean:
	rm -rf build

# Load tests (not part of `make test`): an optimised build of its own in build/bench, wrk, GNU
# time and PostgreSQL's server installed like `make deps` does, then bench/run.sh (see
# docs/performance.md; BENCH_PG=0 skips the phases on PostgreSQL).
BENCH_DEB_PKGS := wrk time postgresql
BENCH_B        := build/bench
BENCH_TOOLS    := fake_provider sign_webhooks verify_webhooks gen_responses

bench-build:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(DEB_PKGS) $(BENCH_DEB_PKGS)"
	@$(MAKE) --no-print-directory B=$(BENCH_B) OPT="-O2 -DNDEBUG -fno-omit-frame-pointer" $(BENCH_B)/gateway \
	  $(BENCH_TOOLS:%=$(BENCH_B)/bench/%)

bench: bench-build
	@bash bench/run.sh $(BENCH_B)

# Minutes of mixed load on one gateway process of that build, and what it leaves behind
# (bench/soak.sh; SOAK_DURATION, SOAK_CONNECTIONS, SOAK_REPLY_CONNECTIONS in docs/performance.md, "Soak").
soak: bench-build
	@bash bench/soak.sh $(BENCH_B)

# The benchmark's helpers link the project's objects (form, buf, twilio_sign).
$(B)/bench/%: $(B)/obj/bench/%.o $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(OPT) $(SAN) -o $@ $^ $(LIBS)
.SECONDARY: $(BENCH_TOOLS:%=$(B)/obj/bench/%.o)

include tests/fuzz/fuzz.mk
