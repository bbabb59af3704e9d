/* parse.h — the small grammars shared by config, API and client:
 * durations ("90s", "15m", "1h", "7d", "250ms") and sizes ("64K", "1M").
 * Both reject empty input, signs, junk after the unit and overflow. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* A bare number is seconds.  Units: ms s m h d.  At most 10 years. */
int parse_duration_usec(const char *s, uint64_t *ret_usec);
/* A bare number is bytes.  Units: K M G (powers of 1024), optional "B"
 * or "iB" suffix. */
int parse_size(const char *s, uint64_t *ret_bytes);
/* CLOCK_REALTIME microseconds as "2026-11-24T19:08:38Z". */
void format_time_utc(int64_t usec, char *buf, size_t len);
/* Formats usec as the largest whole unit ("15m", "90s"), for humans. */
void format_duration(uint64_t usec, char *buf, size_t len);
