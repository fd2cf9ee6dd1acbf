#!/bin/bash
# The fuzz targets (tests/fuzz/, `make fuzz`) without clang: each is built
# with gcc, ASan and UBSan around tests/fuzz/replay_main.c and run once over
# its seed corpus and the inputs that once found a bug
# (tests/fuzz/regress/TARGET/), with the targets' invariants checked. So
# what the fuzzers found stays fixed.
. "$(dirname "$0")/../lib.sh"

F=$QF_ROOT/tests/fuzz
B=$T_DIR/fuzz
mkdir -p "$B/obj" "$T_DIR/tmp"
pkgs=$(sed -n 's/^PKGS *:= *//p' "$QF_ROOT/Makefile")
# shellcheck disable=SC2086
read -ra pc_cflags <<<"$(pkg-config --cflags $pkgs)"
# shellcheck disable=SC2086
read -ra pc_libs <<<"$(pkg-config --libs $pkgs)"
cflags=(-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 -O1 -g -fno-omit-frame-pointer
        -fsanitize=address,undefined -fno-sanitize-recover=undefined "${pc_cflags[@]}" -I"$QF_ROOT/daemon" -I"$F")
# the daemon sources the targets need, as tests/fuzz/run.sh builds them,
# with the files a subsystem is split into (daemon/rule_compile.c, ...)
srcs=(util utf8 diag log cfgutil config chat rule webhook)
for s in "$QF_ROOT"/daemon/{cfgutil,config,chat,rule}_*.c; do [ -e "$s" ] && srcs+=("$(basename "$s" .c)"); done
targets=(config rules render utf8)

# two compilers at a time: the machine may have two cores
build_log=$T_DIR/build.log
pids=()
for s in "${srcs[@]}" replay_main; do
  src=$QF_ROOT/daemon/$s.c
  [ "$s" = replay_main ] && src=$F/replay_main.c
  cc "${cflags[@]}" -c "$src" -o "$B/obj/$s.o" >>"$build_log" 2>&1 &
  pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}" || echo "failed: $s" >>"$build_log"; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p" || echo "failed" >>"$build_log"; done
objs=()
for s in "${srcs[@]}" replay_main; do objs+=("$B/obj/$s.o"); done

export LSAN_OPTIONS=suppressions=$F/lsan.supp:print_suppressions=0
for t in "${targets[@]}"; do
  if ! cc "${cflags[@]}" "$F/fuzz_$t.c" "${objs[@]}" -o "$B/replay_$t" "${pc_libs[@]}" -lm -lpthread -ldl \
      >>"$build_log" 2>&1; then
    ok 1 "fuzz_$t builds with gcc, ASan and UBSan"
    sed 's/^/# /' "$build_log" | tail -20
    continue
  fi
  ok 0 "fuzz_$t builds with gcc, ASan and UBSan"
  dirs=("$F/corpus/$t")
  [ -d "$F/regress/$t" ] && dirs+=("$F/regress/$t")
  want=$(find "${dirs[@]}" -type f ! -name '.*' | wc -l)
  out=$(cd "$T_DIR/tmp" && TMPDIR=$T_DIR/tmp "$B/replay_$t" "${dirs[@]}" </dev/null 2>"$T_DIR/$t.err"); st=$?
  is "$st" 0 "fuzz_$t: no crash, sanitizer report or broken invariant on the seeds and regression inputs"
  if [ "$st" -ne 0 ]; then
    grep -v '^replay: ' "$T_DIR/$t.err" | head -30 | sed 's/^/# /'
    grep '^replay: ' "$T_DIR/$t.err" | tail -1 | sed 's/^/# last input: /'
  fi
  is "$out" "replayed $want inputs" "fuzz_$t: every input replayed ($want)"
done

done_testing
