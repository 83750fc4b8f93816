# tests/fuzz/fuzz.mk - libFuzzer targets; included at the end of the Makefile.
#   make fuzz                      build every target and run each for FUZZ_SECONDS (default 60)
#   make fuzz FUZZ_TARGETS="csv"   only some of them
#   make fuzz-build                build them only (build/fuzz/fuzz_<name>)
# Each target runs on build/fuzz/corpus/<name>, which starts as a copy of tests/fuzz/corpus/<name>
# and keeps what the fuzzer finds from run to run (the seed corpus in git stays as it is).  A crash
# is saved under build/fuzz/crashes/<name>/ and makes `make fuzz` fail; replay one with
#   build/fuzz/fuzz_<name> build/fuzz/crashes/<name>/crash-...
# Not part of `make test`.  Needs clang and its libFuzzer runtime (libclang-rt-14-dev on Debian 12),
# installed when missing if run as root.

FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_TARGETS  ?= reply form twilio_sign meta_webhook trigger config csv
# More libFuzzer flags, e.g. FUZZ_FLAGS="-fork=1 -ignore_crashes=1" to go on past a known crash
# (a run that saved any crash still fails).
FUZZ_FLAGS    ?=
FUZZ_B        := build/fuzz
FUZZ_PKGS     := libcurl jansson libmicrohttpd sqlite3 libcrypto libpq
FUZZ_DEB_PKGS := clang libclang-rt-14-dev pkg-config libcurl4-openssl-dev libjansson-dev \
                 libmicrohttpd-dev libsqlite3-dev libssl-dev libpq-dev tzdata

# -max_len per target: an SMS/WhatsApp text, a form body, a webhook body, a config file.
FUZZ_MAXLEN_reply        := 2048
FUZZ_MAXLEN_form         := 4096
FUZZ_MAXLEN_twilio_sign  := 4096
FUZZ_MAXLEN_meta_webhook := 16384
FUZZ_MAXLEN_trigger      := 4096
FUZZ_MAXLEN_config       := 8192
FUZZ_MAXLEN_csv          := 4096
# Dictionaries of the tokens a grammar needs, for targets that have one.
FUZZ_DICT_meta_webhook := tests/fuzz/json.dict
FUZZ_DICT_trigger      := tests/fuzz/json.dict
FUZZ_DICT_config       := tests/fuzz/config.dict

# UBSan findings are crashes too (-fno-sanitize-recover), so libFuzzer saves them.
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# The Makefile's warnings; -Werror only for the targets (see the object rule below).
FUZZ_WARN   := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
FUZZ_CFLAGS  = $(FUZZ_WARN) -D_GNU_SOURCE $(INCS) \
               -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
               $(shell pkg-config --cflags $(FUZZ_PKGS) 2>/dev/null)
FUZZ_LIBS    = $(shell pkg-config --libs $(FUZZ_PKGS) 2>/dev/null) -lpthread -lm

FUZZ_LIB_SRC := $(LIB_SRC)
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_B)/obj/%.o)
FUZZ_BINS     = $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz_%)

.PHONY: fuzz fuzz-deps fuzz-build fuzz-run

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory fuzz-build
	@$(MAKE) --no-print-directory fuzz-run

# Like `make deps`: installs what is missing as root, else says what to run.  Then proves that
# clang links a libFuzzer program.
fuzz-deps:
	@missing=""; for p in $(FUZZ_DEB_PKGS); do \
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
	@mkdir -p $(FUZZ_B)
	@printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
	  > $(FUZZ_B)/probe.c
	@$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_B)/probe.c -o $(FUZZ_B)/probe || \
	  { echo "$(FUZZ_CC) cannot link -fsanitize=fuzzer: install libclang-rt-14-dev"; exit 1; }
	@rm -f $(FUZZ_B)/probe $(FUZZ_B)/probe.c

fuzz-build: $(FUZZ_BINS)

# The library is instrumented for coverage but has no main; each target adds libFuzzer's.
# Library objects do not get -Werror: a warning only clang gives must not stop fuzzing (and
# store/schema.c joins the statements of one migration on purpose).
$(FUZZ_B)/obj/%.o: %.c $(foreach d,$(LAYERS),$(wildcard $(d)/*.h))
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-string-concatenation -fsanitize=fuzzer-no-link -c $< -o $@

# Shared by every target: not intermediates to delete after a build.
.SECONDARY: $(FUZZ_LIB_OBJ)

$(FUZZ_B)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) $(FUZZ_LIBS)

# Runs each target, then prints one line per target; fails when any crashed.
fuzz-run:
	@failed=0; for t in $(FUZZ_TARGETS); do \
	  bin=$(FUZZ_B)/fuzz_$$t; corpus=$(FUZZ_B)/corpus/$$t; crashes=$(FUZZ_B)/crashes/$$t; \
	  log=$(FUZZ_B)/logs/$$t.log; \
	  mkdir -p $$corpus $$crashes $(FUZZ_B)/logs; \
	  cp -n tests/fuzz/corpus/$$t/* $$corpus/ 2>/dev/null; \
	  case $$t in \
	    reply) len=$(FUZZ_MAXLEN_reply) dict="$(FUZZ_DICT_reply)";; \
	    form) len=$(FUZZ_MAXLEN_form) dict="$(FUZZ_DICT_form)";; \
	    twilio_sign) len=$(FUZZ_MAXLEN_twilio_sign) dict="$(FUZZ_DICT_twilio_sign)";; \
	    meta_webhook) len=$(FUZZ_MAXLEN_meta_webhook) dict="$(FUZZ_DICT_meta_webhook)";; \
	    trigger) len=$(FUZZ_MAXLEN_trigger) dict="$(FUZZ_DICT_trigger)";; \
	    config) len=$(FUZZ_MAXLEN_config) dict="$(FUZZ_DICT_config)";; \
	    csv) len=$(FUZZ_MAXLEN_csv) dict="$(FUZZ_DICT_csv)";; \
	    *) len=4096 dict="";; \
	  esac; \
	  echo "== fuzz_$$t: $(FUZZ_SECONDS)s, -max_len=$$len (log: $$log)"; \
	  UBSAN_OPTIONS=print_stacktrace=1 $$bin -max_total_time=$(FUZZ_SECONDS) -max_len=$$len \
	    -timeout=25 -print_final_stats=1 -artifact_prefix=$$crashes/ \
	    $${dict:+-dict=$$dict} $(FUZZ_FLAGS) $$corpus > $$log 2>&1; rc=$$?; \
	  runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -1); \
	  [ -n "$$runs" ] || runs=$$(grep -o '^#[0-9]*' $$log | tail -1 | tr -d '#'); \
	  eps=$$(sed -n 's/^stat::average_exec_per_sec: *//p' $$log | tail -1); \
	  [ -n "$$eps" ] || eps=$$(grep -o 'exec/s:\? [0-9]*' $$log | tail -1 | cut -d' ' -f2); \
	  cov=$$(grep -o 'cov: [0-9]*' $$log | tail -1 | cut -d' ' -f2); \
	  ft=$$(grep -o 'ft: [0-9]*' $$log | tail -1 | cut -d' ' -f2); \
	  crash=$$(sed -n 's/.*Test unit written to \(.*\)$$/\1/p' $$log | tail -1); \
	  [ -n "$$crash" ] || crash=$$(ls -t $$crashes 2>/dev/null | head -1 | sed "s|^.|$$crashes/&|"); \
	  forked=$$(grep -o 'oom/timeout/crash: [0-9/]*' $$log | tail -1 | cut -d' ' -f2); \
	  if [ $$rc -ne 0 ]; then result="CRASH (exit $$rc): $${crash:-see $$log}"; failed=1; \
	  elif [ -n "$$forked" ] && [ "$$forked" != 0/0/0 ]; then \
	    result="CRASH (oom/timeout/crash $$forked): see $$crashes/"; failed=1; \
	  else result="no crash"; fi; \
	  printf 'fuzz_%s: %s runs, %s exec/s, cov %s, ft %s: %s\n' \
	    $$t "$${runs:-?}" "$${eps:-?}" "$${cov:-?}" "$${ft:-?}" "$$result"; \
	done; exit $$failed
