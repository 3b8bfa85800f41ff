// The one place C++ code includes the core Postgres headers. Components include this (and the
// narrower Postgres headers they need, inside extern "C") instead of postgres.h directly.
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/elog.h"
#include "utils/memutils.h"
}
