# PGXS build of the ai_scale extension (C++17).
# `make && make install` builds and installs ai_scale.so and the SQL; `make installcheck` runs
# pg_regress, then the isolation specs, against a running server that preloads ai_scale
# (test/run.sh starts one). `make installcheck ISOLATION=` runs pg_regress alone,
# `make installcheck REGRESS=` the specs alone; either takes a list of names instead.

EXTENSION = ai_scale
MODULE_big = ai_scale
# The version is the control file's default_version, and version() says it (src/core/version.cpp).
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'$$/\1/p" $(EXTENSION).control)

SRCS = $(sort $(shell find src -name '*.cpp'))
OBJS = $(SRCS:.cpp=.o)

# The install script is assembled from one file per component or part of one (install/NN_*.sql),
# concatenated in name order.
INSTALL_SQL = $(sort $(wildcard install/*.sql))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA = $(wildcard $(EXTENSION)--*--*.sql)

# Suites, from the files in sql/: REGRESS needs a server with shared_preload_libraries =
# 'ai_scale' and runs extension.sql first (it creates the extension the others use), then the
# rest in name order; sql/no_preload*.sql form REGRESS_NOPRELOAD, for a server without preload
# (test/run.sh restarts the server between the two).
REGRESS_ALL = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_NOPRELOAD = $(filter no_preload%,$(REGRESS_ALL))
REGRESS = extension $(filter-out extension no_preload%,$(REGRESS_ALL))
REGRESS_OPTS = --inputdir=.
# Isolation specs (specs/NAME.spec, expected/NAME.out), for pg_isolation_regress: concurrent
# sessions in interleavings the spec fixes. Each creates the extension if it is not there yet.
ISOLATION = $(sort $(basename $(notdir $(wildcard specs/*.spec))))

PG_CPPFLAGS = -I$(srcdir)/src -I$(srcdir)/gpu -DAI_SCALE_VERSION='"$(EXTVERSION)"'
# -ffp-contract=off: no fused multiply-adds, so that scores round as the GPU module's (built with
# nvcc -fmad=false) do, on a CPU that has them too (src/scoring/model_math.hpp).
# -MMD -MP: each object's headers as the compiler lists them (src/x.d beside src/x.o, with a
# target for each header so that a header deleted breaks nothing): an edit to a header rebuilds
# the objects that include it, where every object depended on every header (a whole build: 46 s
# on two idle cores, 6.5 minutes beside other builds).
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wno-register -fno-strict-aliasing -ffp-contract=off -MMD -MP
SHLIB_LINK = -lhiredis -lxxhash -lstdc++ -Wl,--version-script=$(srcdir)/src/exports.map

# No LLVM bitcode for JIT inlining: it would need the exact clang that built the server.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# ASCII only: CREATE EXTENSION reads the script in the database's encoding (the control file
# names none), and a character outside ASCII, even in a comment, failed it in an EUC_JP
# database (test/tap/165_database_encodings.pl).
$(DATA_built): $(INSTALL_SQL)
	@if LC_ALL=C grep -n '[^[:print:][:space:]]' $^; then \
		echo "install/*.sql must be ASCII (lines above)" >&2; exit 1; fi
	cat $^ > $@

-include $(OBJS:.o=.d)
EXTRA_CLEAN = $(OBJS:.o=.d)
$(shlib): src/exports.map

installcheck-nopreload:
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS_NOPRELOAD)

.PHONY: installcheck-nopreload
