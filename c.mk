# c.mk - the C side of toykv: examples, tests and installation of libtoykv.
# Included from the Makefile (`include c.mk`); every path is relative to the repository root.
#
#   make c-build          examples, tests and the C++ header check into build/c/
#   make c-quickstart     build and run examples/c/quickstart.c
#   make c-test           both C test programs: plainly, under valgrind (with the examples),
#                         then rebuilt with ASan + UBSan (c-test-sanitize)
#   make install          PREFIX=/usr/local, DESTDIR supported: library, header, toykv.pc
#   make c-install-test   install into a temporary prefix and build the quickstart through
#                         pkg-config, shared and static
#   make crash-test       the kill -9 harness (tests/crash/crash.c): CRASH_CYCLES cycles with
#                         and without sync_writes (default 50 each; the long mode is 2000)
#
# The C programs link the shared library in target/release with an rpath to it, so they run
# from the tree without installing. TOYKV_TEST_SCALE divides the tests' big loop counts;
# under valgrind it is C_VALGRIND_SCALE (default 1: full size, about 20 s on 2 cores).

# Including this file must not change the including Makefile's default goal.
c_mk_saved_default_goal := $(.DEFAULT_GOAL)

CC ?= cc
CXX ?= g++
CARGO ?= cargo
PKG_CONFIG ?= pkg-config
LIBDIR = target/release
C_INCLUDE ?= include
C_BUILD = build/c

C_STD_FLAGS = -std=c99 -Wall -Wextra -Wpedantic -Werror
C_CFLAGS ?= -O2 -g
C_LIBS = -L$(LIBDIR) -ltoykv -Wl,-rpath,$(abspath $(LIBDIR))
C_EXAMPLES = quickstart errors
C_TESTS = test_api test_threads test_corruption

VALGRIND = valgrind --error-exitcode=1 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --track-origins=no -q
C_VALGRIND_SCALE ?= 1
# Each test program runs under tests/watchdog.sh: one that passes this many seconds prints
# its processes' stacks and fails, instead of holding CI to its own limit. Under valgrind
# the programs take 10-30 s here.
C_TEST_TIME_LIMIT ?= 900
C_WATCHDOG = tests/watchdog.sh $(C_TEST_TIME_LIMIT)
# Empty to skip the sanitizer pass (e.g. a compiler without libasan).
C_SANITIZE ?= -fsanitize=address,undefined -fno-sanitize-recover=undefined

PREFIX ?= /usr/local
DESTDIR ?=
# One version source: Cargo.toml's package version.
LIB_VERSION := $(shell sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
SOVERSION := $(firstword $(subst ., ,$(LIB_VERSION)))
# test_api checks toykv_version() and the header's TOYKV_VERSION against it.
C_TEST_DEFS = -DTOYKV_EXPECTED_VERSION='"$(LIB_VERSION)"'

# Cycles per mode of the kill -9 harness: 50 in `make test`, 2000 for the long run.
CRASH_CYCLES ?= 50
# Its watchdog's limit: 50 cycles take about half a minute; allow 6 s a cycle on top of 10 min.
CRASH_TIME_LIMIT ?= $(shell echo $$((600 + 6 * $(CRASH_CYCLES))))

.PHONY: c-lib c-build c-quickstart c-test c-test-sanitize crash-test install c-install-test c-clean

# The Rust library, both crate types (cdylib and staticlib).
c-lib:
	$(CARGO) build --release

# The programs record the soname (libtoykv.so.$(SOVERSION)) and find it through the rpath,
# so a link of that name is made next to cargo's libtoykv.so.
c-build: c-lib
	@set -e; \
	test -f $(C_INCLUDE)/toykv.h || { echo "c.mk: $(C_INCLUDE)/toykv.h is missing" >&2; exit 1; }; \
	test -f $(LIBDIR)/libtoykv.so || { echo "c.mk: $(LIBDIR)/libtoykv.so is missing" >&2; exit 1; }; \
	mkdir -p $(C_BUILD); \
	soname=$$(readelf -d $(LIBDIR)/libtoykv.so | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'); \
	if [ -n "$$soname" ] && [ "$$soname" != libtoykv.so ]; then \
		ln -sf libtoykv.so $(LIBDIR)/$$soname; \
	fi; \
	echo "  CC      header alone (C99, pedantic)"; \
	printf '#include "toykv.h"\n' | $(CC) $(C_STD_FLAGS) -I$(C_INCLUDE) -fsyntax-only -x c -; \
	echo "  CXX     header as C++17"; \
	$(CXX) -std=c++17 -Wall -Werror -fsyntax-only -x c++ -I$(C_INCLUDE) tests/c/header_cxx.cc; \
	$(CXX) -std=c++17 -Wall -Wextra -Werror -x c++ -I$(C_INCLUDE) tests/c/header_cxx.cc \
		-o $(C_BUILD)/header_cxx $(C_LIBS); \
	$(C_BUILD)/header_cxx; \
	for p in $(C_EXAMPLES); do \
		echo "  CC      $(C_BUILD)/$$p"; \
		$(CC) $(C_STD_FLAGS) $(C_CFLAGS) -I$(C_INCLUDE) examples/c/$$p.c \
			-o $(C_BUILD)/$$p $(C_LIBS); \
	done; \
	for p in $(C_TESTS); do \
		echo "  CC      $(C_BUILD)/$$p"; \
		$(CC) $(C_STD_FLAGS) $(C_CFLAGS) $(C_TEST_DEFS) -pthread -I$(C_INCLUDE) -Itests/c tests/c/$$p.c \
			-o $(C_BUILD)/$$p $(C_LIBS); \
	done; \
	echo "  CC      $(C_BUILD)/crash"; \
	$(CC) $(C_STD_FLAGS) $(C_CFLAGS) -pthread -I$(C_INCLUDE) -Itests/c tests/crash/crash.c \
		-o $(C_BUILD)/crash $(C_LIBS)

c-quickstart: c-build
	@$(C_BUILD)/quickstart

# Each test program ends with one "N passed, N failed" line and exits non-zero on a failure.
# valgrind fails the run on memory errors and on definite or indirect leaks; Rust's std may
# leave "possibly lost" / "still reachable" blocks (thread-locals), which are not errors.
c-test: c-build
	@set -e; \
	command -v valgrind >/dev/null || { echo "c.mk: c-test needs valgrind" >&2; exit 1; }; \
	for p in $(C_TESTS); do \
		echo "== $$p"; \
		$(C_WATCHDOG) $(C_BUILD)/$$p; \
	done; \
	for p in $(C_TESTS); do \
		echo "== $$p under valgrind (TOYKV_TEST_SCALE=$(C_VALGRIND_SCALE))"; \
		TOYKV_TEST_SCALE=$(C_VALGRIND_SCALE) $(C_WATCHDOG) $(VALGRIND) $(C_BUILD)/$$p; \
	done; \
	for p in $(C_EXAMPLES); do \
		echo "== example $$p under valgrind"; \
		$(C_WATCHDOG) $(VALGRIND) $(C_BUILD)/$$p > $(C_BUILD)/$$p.out 2>&1 || \
			{ cat $(C_BUILD)/$$p.out; echo "c.mk: example $$p failed" >&2; exit 1; }; \
	done
	@$(c_run_sanitized)
	@echo "== C tests passed"

# The tests rebuilt with AddressSanitizer (and its leak checker) and UBSan; the Rust library
# is not instrumented, but its malloc/free go through ASan's, so leaks and bad frees show.
c-test-sanitize: c-build
	@$(c_run_sanitized)

define c_run_sanitized
set -e; \
if [ -z "$(strip $(C_SANITIZE))" ]; then echo "== sanitizers skipped (C_SANITIZE is empty)"; exit 0; fi; \
mkdir -p $(C_BUILD)/sanitize; \
for p in $(C_TESTS); do \
	echo "== $$p under ASan + UBSan"; \
	$(CC) $(C_STD_FLAGS) -O1 -g -fno-omit-frame-pointer $(C_SANITIZE) $(C_TEST_DEFS) -pthread \
		-I$(C_INCLUDE) -Itests/c tests/c/$$p.c -o $(C_BUILD)/sanitize/$$p $(C_LIBS); \
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		$(C_WATCHDOG) $(C_BUILD)/sanitize/$$p; \
done
endef

# The kill -9 harness: a writer process killed at random moments, every reopen checked
# (see the comment at the top of tests/crash/crash.c). TOYKV_CRASH_SEED replays a workload.
crash-test: c-build
	@echo "== kill -9 crash harness ($(CRASH_CYCLES) cycles per mode)"
	@tests/watchdog.sh $(CRASH_TIME_LIMIT) $(C_BUILD)/crash $(CRASH_CYCLES)

# Installs libtoykv.so.$(LIB_VERSION) (+ libtoykv.so.$(SOVERSION) and libtoykv.so links),
# libtoykv.a, toykv.h and toykv.pc. Build first (make c-build): install does not run cargo,
# so that `sudo make install` never builds as root.
install:
	@set -e; \
	for f in $(LIBDIR)/libtoykv.so $(LIBDIR)/libtoykv.a include/toykv.h toykv.pc.in; do \
		test -f $$f || { echo "c.mk: $$f is missing; run 'make c-build' first" >&2; exit 1; }; \
	done; \
	test -n "$(LIB_VERSION)" || { echo "c.mk: no version found in Cargo.toml" >&2; exit 1; }; \
	lib="$(DESTDIR)$(PREFIX)/lib"; inc="$(DESTDIR)$(PREFIX)/include"; \
	install -d "$$lib/pkgconfig" "$$inc"; \
	install -m 755 $(LIBDIR)/libtoykv.so "$$lib/libtoykv.so.$(LIB_VERSION)"; \
	ln -sf libtoykv.so.$(LIB_VERSION) "$$lib/libtoykv.so.$(SOVERSION)"; \
	ln -sf libtoykv.so.$(SOVERSION) "$$lib/libtoykv.so"; \
	install -m 644 $(LIBDIR)/libtoykv.a "$$lib/libtoykv.a"; \
	install -m 644 include/toykv.h "$$inc/toykv.h"; \
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(LIB_VERSION)|g' toykv.pc.in \
		> "$$lib/pkgconfig/toykv.pc"; \
	chmod 644 "$$lib/pkgconfig/toykv.pc"; \
	echo "installed libtoykv $(LIB_VERSION) into $(DESTDIR)$(PREFIX)"

# Proves the installed layout: DESTDIR staging, the soname, and that a program builds from
# pkg-config alone, against the shared library and against the static one.
c-install-test: c-lib
	@set -e; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	echo "== DESTDIR staging"; \
	$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) install \
		DESTDIR="$$tmp/stage" PREFIX=/opt/toykv >/dev/null; \
	for f in lib/libtoykv.so.$(LIB_VERSION) lib/libtoykv.so.$(SOVERSION) lib/libtoykv.so \
		lib/libtoykv.a include/toykv.h lib/pkgconfig/toykv.pc; do \
		test -e "$$tmp/stage/opt/toykv/$$f" || { echo "c.mk: $$f not staged" >&2; exit 1; }; \
	done; \
	grep -qx 'prefix=/opt/toykv' "$$tmp/stage/opt/toykv/lib/pkgconfig/toykv.pc"; \
	echo "== soname"; \
	readelf -d $(LIBDIR)/libtoykv.so | grep -q "SONAME.*\[libtoykv\.so\.$(SOVERSION)\]" || \
		{ echo "c.mk: $(LIBDIR)/libtoykv.so lacks the soname libtoykv.so.$(SOVERSION)" >&2; exit 1; }; \
	echo "== install into $$tmp/prefix"; \
	$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) install PREFIX="$$tmp/prefix"; \
	export PKG_CONFIG_PATH="$$tmp/prefix/lib/pkgconfig"; \
	test "$$($(PKG_CONFIG) --modversion toykv)" = "$(LIB_VERSION)"; \
	echo "== quickstart via pkg-config (shared)"; \
	echo "  $(CC) examples/c/quickstart.c $$($(PKG_CONFIG) --cflags --libs toykv)"; \
	$(CC) examples/c/quickstart.c $$($(PKG_CONFIG) --cflags --libs toykv) -o "$$tmp/quickstart"; \
	LD_LIBRARY_PATH="$$tmp/prefix/lib" ldd "$$tmp/quickstart" | \
		grep -q "libtoykv\.so\.$(SOVERSION) => $$tmp/prefix/lib/" || \
		{ echo "c.mk: quickstart does not load the installed libtoykv" >&2; exit 1; }; \
	LD_LIBRARY_PATH="$$tmp/prefix/lib" "$$tmp/quickstart" >/dev/null; \
	echo "== quickstart via pkg-config --static (libtoykv.a + Libs.private)"; \
	$(CC) examples/c/quickstart.c $$($(PKG_CONFIG) --cflags toykv) "$$tmp/prefix/lib/libtoykv.a" \
		$$($(PKG_CONFIG) --static --libs toykv | sed 's/ *-ltoykv\b//') -o "$$tmp/quickstart-static"; \
	if readelf -d "$$tmp/quickstart-static" | grep -q 'NEEDED.*libtoykv'; then \
		echo "c.mk: the static quickstart still needs libtoykv.so" >&2; exit 1; fi; \
	"$$tmp/quickstart-static" >/dev/null; \
	echo "== install test passed"

c-clean:
	rm -rf $(C_BUILD)

.DEFAULT_GOAL := $(c_mk_saved_default_goal)
