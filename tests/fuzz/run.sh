#!/bin/bash
# make fuzz: builds the libFuzzer targets in tests/fuzz/ with clang (ASan,
# UBSan) into build/fuzz/, runs each in turn for FUZZ_SECONDS (default 600)
# at nice 19 on a copy of its seed corpus, and records the figures in
# bench/FUZZ.md. Exits non-zero if a fuzzer found a crash, an invariant
# violation, a leak or a hang; the input that did it is named in the output.
#
#   FUZZ_SECONDS=600             per target
#   FUZZ_TARGETS="config rules render utf8"
#   FUZZ_BUILD=build/fuzz        objects, binaries and the run's work dir
#   FUZZ_RECORD=1                0: do not touch bench/FUZZ.md (smoke runs)
#
# The targets run one after another, never in parallel: a fuzzer takes a
# whole core, and the machine may be running benchmarks. New corpus
# entries go to the work dir (build/fuzz/run/TARGET/corpus), never into
# tests/fuzz/corpus/. Found inputs: fix the bug, then add the input to
# tests/fuzz/regress/TARGET/, which tests/t/55-fuzz-replay.t replays.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tools/deps.sh --check-extra clang libclang-rt-14-dev

seconds=${FUZZ_SECONDS:-600}
targets=${FUZZ_TARGETS:-config rules render utf8}
out=${FUZZ_BUILD:-build/fuzz}
record=${FUZZ_RECORD:-1}
cc=${FUZZ_CC:-clang}

# the Makefile's packages and warning flags; only the daemon sources the
# parsers and renderers need (no database, HTTP or delivery code), with
# the files a subsystem is split into (daemon/rule_compile.c, ...)
pkgs=$(sed -n 's/^PKGS *:= *//p' Makefile)
srcs="util utf8 diag log cfgutil config chat rule webhook"
for s in daemon/{cfgutil,config,chat,rule}_*.c; do [ -e "$s" ] && srcs="$srcs $(basename "$s" .c)"; done
cflags="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 -O1 -g -fno-omit-frame-pointer
        -fno-sanitize-recover=undefined $(pkg-config --cflags $pkgs) -DQF_VERSION=\"fuzz\" -DQF_SQLDIR=\"/nonexistent\""
libs="$(pkg-config --libs $pkgs) -lm -lpthread -ldl"

echo "fuzz: building with $($cc --version | head -1) into $out/"
mkdir -p "$out/obj"
for s in $srcs; do
  # shellcheck disable=SC2086
  $cc $cflags -fsanitize=fuzzer-no-link,address,undefined -Idaemon -c "daemon/$s.c" -o "$out/obj/$s.o"
done
for t in $targets; do
  # shellcheck disable=SC2086
  $cc $cflags -fsanitize=fuzzer,address,undefined -Idaemon -Itests/fuzz "tests/fuzz/fuzz_$t.c" \
    $(for s in $srcs; do echo "$out/obj/$s.o"; done) -o "$out/fuzz_$t" $libs
done

run=$out/run
rm -rf "$run"
mkdir -p "$run"
date=$(date -u +%Y-%m-%d)
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1 | sed 's/(R)//g; s/ *Processor//; s/  */ /g')
mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
machine="$(nproc) vCPU $cpu, $mem, Debian $(cut -d. -f1 /etc/debian_version), $($cc --version | head -1 | sed 's/.*clang version \([0-9.]*\).*/clang \1/')"
rows=$run/rows
: >"$rows"
failed=()

# Runs BIN on the inputs given and reports leaks at exit (LeakSanitizer);
# for a batch that leaks, finds the inputs that do and saves them.
leak_pass() { # leak_pass BIN ARTIFACT-DIR FILE...
  local bin=$1 art=$2; shift 2
  if nice -n 19 "$bin" "$@" </dev/null >"$art/../leakpass.log" 2>&1; then return 0; fi
  for f in "$@"; do
    if ! nice -n 19 "$bin" "$f" </dev/null >"$art/../leak1.log" 2>&1; then
      cp "$f" "$art/leak-$(basename "$f")"
      cat "$art/../leak1.log" >>"$art/../log"
    fi
  done
}
export -f leak_pass

export LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0
for t in $targets; do
  w=$run/$t
  mkdir -p "$w/corpus" "$w/artifacts" "$w/tmp"
  cp tests/fuzz/corpus/"$t"/* "$w/corpus/"
  # libconfig 1.5 leaks a token on most syntax errors (lsan.supp); with
  # leak detection on, libFuzzer would scan the heap after each such input
  # and run 8 times slower. The parsers' targets look for leaks instead
  # once at the end, on every input of the final corpus.
  leaks=1
  case $t in config | rules) leaks=0 ;; esac
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  echo "fuzz: $t for ${seconds}s (log: $w/log)"
  st=0
  start=$(date +%s)
  # stdin from /dev/null: nothing the target opens may wait on a terminal;
  # TMPDIR: the targets' scratch files stay in the work dir; stdout closed
  # (-close_fd_mask=1): libconfig's scanner echoes stray backslashes of an
  # @include path there
  TMPDIR=$w/tmp nice -n 19 "$out/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=30 \
    -rss_limit_mb=2048 -close_fd_mask=1 -detect_leaks=$leaks -artifact_prefix="$w/artifacts/" "${dict[@]}" "$w/corpus" </dev/null >"$w/log" 2>&1 || st=$?
  last=$(grep -E '^#[0-9]+[[:space:]].*cov: [0-9]+ ft: [0-9]+' "$w/log" | tail -1 || true)
  cov=$(printf '%s' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(printf '%s' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(printf '%s' "$last" | sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$w/log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$w/log" | tail -1)
  [ -n "$secs" ] || secs=$(($(date +%s) - start)) # a crash ends it without "Done"
  if [ "$st" -eq 0 ]; then
    echo "fuzz: $t: leak check of the $(find "$w/corpus" -type f | wc -l) corpus inputs"
    find "$w/corpus" -type f -print0 | TMPDIR=$w/tmp xargs -0 -n 500 bash -c 'leak_pass "$@"' _ "$out/fuzz_$t" \
      "$w/artifacts" 2>/dev/null || true
  fi
  found=$(find "$w/artifacts" -type f | sort)
  crashes=$(printf '%s' "$found" | grep -c . || true)
  if [ "$st" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    crashes=1 # it died without writing an input (the log says why)
  fi
  if [ "$crashes" -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $st) after ${secs:-?}s; the log ends:" >&2
    grep -v '^#[0-9]' "$w/log" | tail -25 >&2
    for f in $found; do echo "fuzz: $t: crash input: $root/$f" >&2; done
  fi
  printf '%s %s %s %s %s %s %s %s\n' "$t" "${secs:-?}" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "$crashes" >>"$rows"
  echo "fuzz: $t: ${secs:-?}s, ${execs:-?} execs, ${rate:-?}/s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, crashes $crashes"
done

if [ "$record" = 1 ]; then
  md=bench/FUZZ.md
  new=$run/FUZZ.md
  # rows of targets not run now are kept as they were
  old_rows=$run/old
  grep -E '^\| `[a-z0-9]+` \|' "$md" 2>/dev/null >"$old_rows" || true
  {
    cat <<'EOF'
# Fuzzing results

`make fuzz` (tests/fuzz/run.sh) builds each libFuzzer target with clang,
`-fsanitize=fuzzer,address,undefined` (UBSan fatal), and runs it alone at
`nice -n 19` for `FUZZ_SECONDS` (default 600) on a copy of its seed corpus
in `tests/fuzz/corpus/TARGET/`. Leaks are looked for after each input, but
for `config` and `rules` (libconfig 1.5 leaks a token on a syntax error,
tests/fuzz/lsan.supp, and the heap scan after each such input made them 8
times slower) once, on every input of the final corpus. Beyond memory errors,
each target aborts on a broken invariant (see the comment at the top of
`tests/fuzz/fuzz_TARGET.c`):

- `config`: `config_load()` of a qingfeng.conf; an accepted config holds
  only what qingfeng.conf(5) allows; one `FILE:LINE` line per error.
- `rules`: a rule file through `ruleset_load_file()` and
  `ruleset_finish()` (parser and SQL compiler, with the default or a
  fuzzed configuration's overrides), and `rule_render()` of its messages
  against an independent renderer; each statement is one statement and
  binds exactly its values.
- `render`: `chat_render()` for each chat format, detail full and
  minimal, one alert and digests, with mentions; `webhook_json_body()`;
  `chat_classify()`. Valid UTF-8 and JSON, within the vendor's byte limit,
  no record text that links, mentions or marks up, minimal bodies
  independent of what minimal leaves out.
- `utf8`: `utf8_valid()` against two independent decoders,
  `utf8_sanitize()`, `utf8_cut()` (within max, on a boundary, maximal),
  `json_string_or_fixed()`.

Inputs that once failed are in `tests/fuzz/regress/TARGET/`; `make check`
replays them and the seed corpus without clang (tests/t/55-fuzz-replay.t).

Coverage is the final libFuzzer status line: `cov` = edges covered, `ft`
= features; corpus = entries/size at the end.

| target | seconds | total execs | exec/s | cov | ft | corpus | crashes | date | machine |
|---|---|---|---|---|---|---|---|---|---|
EOF
    for t in config rules render utf8; do
      if read -r name secs execs rate cov ft corp crashes < <(grep "^$t " "$rows"); then
        printf '| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$secs" "$execs" "$rate" "$cov" \
          "$ft" "$corp" "$crashes" "$date" "$machine"
      else
        grep -E "^\| \`$t\` \|" "$old_rows" || true
      fi
    done
    # sections written by hand after the table (what was found) stay
    if [ -f "$md" ] && grep -q '^## ' "$md"; then
      echo
      sed -n '/^## /,$p' "$md"
    fi
  } >"$new"
  mv "$new" "$md"
  echo "fuzz: figures in $md"
fi

if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs and logs under $root/$run/)" >&2
  exit 1
fi
echo "fuzz: no crash in ${seconds}s per target"
