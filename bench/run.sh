#!/bin/bash
# make bench: runs the benchmarks, each against its own throwaway PostgreSQL
# cluster (tools/pgtmp.sh), collects the RESULT lines they print and
# rewrites the generated block of bench/RESULTS.md, between the markers
# <!-- bench:begin --> and <!-- bench:end -->: the machine, the date and
# each figure beside its target. The text below the block is not touched.
#
#   bench/run.sh                         every benchmark, at the targets' scales
#                                        (eval at 10M rows alone takes ~15 min)
#   BENCH=capture,deliver bench/run.sh   a subset (capture, deliver, latency, hotkey, hotsql, gauges,
#                                        eval, bulk, web; soak only when named); the
#                                        other benchmarks' rows are kept
#   QUICK=1 bench/run.sh                 small scales, a few minutes in all;
#                                        the block says they are not the targets'
#   bench/run.sh --render                rewrite the block from its stored data
#
# The benchmarks' own knobs pass through: ROWS, ROUNDS (capture); SIZES
# (deliver); RATE, COUNT, SEED (latency); HOT_COUNT, HISTORY, IMPORT, HOTKEY_REPEAT (hotkey);
# HOTSQL_SCALES, HOTSQL_KEYS, HOTSQL_HISTORY, HOTSQL_NEW, HOTSQL_ROUNDS, HOTSQL_SHARED_BUFFERS (hotsql); ALERTS, FINDINGS (gauges);
# WEB_FINDINGS, WEB_ROUNDS (web); SCALES,
# ROUNDS_INCR, INCREMENTAL_ONLY (eval); BULK_SCALE, BULK_N (bulk); SOAK_*
# (soak). Any that differs from its default is written beside the figures.
# QF_BUILD is the build to run (default build/), RESULTS_MD the file to
# write (default bench/RESULTS.md).
#
# A RESULT line is: RESULT <tab> id <tab> what <tab> target <tab> value
# <tab> met (yes, no or n/a). A benchmark that exits non-zero, or prints no
# RESULT line, is reported as failed in the table and on stderr, and this
# script then exits 1; a target not met is a figure, not a failure.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export QF_BUILD=${QF_BUILD:-$ROOT/build}
RESULTS_MD=${RESULTS_MD:-$ROOT/bench/RESULTS.md}
ALL="capture deliver latency hotkey hotsql gauges eval bulk web"   # soak is not a default benchmark (make soak)
KNOWN="capture deliver latency hotkey hotsql gauges eval bulk web soak"

render_only=0
case "${1:-}" in
  --render) render_only=1 ;;
  "") ;;
  *) echo "usage: bench/run.sh [--render]   (BENCH=capture,deliver,... QUICK=1 ...)" >&2; exit 64 ;;
esac

if [ "${QUICK:-}" = 1 ]; then
  export ROWS=${ROWS:-20000} ROUNDS=${ROUNDS:-3} SIZES=${SIZES:-2000 6000}
  export RATE=${RATE:-200} COUNT=${COUNT:-1000} SCALES=${SCALES:-100000} ROUNDS_INCR=${ROUNDS_INCR:-3}
  export HISTORY=${HISTORY:-0 20000} IMPORT=${IMPORT:-5000}
  export HOTSQL_SCALES=${HOTSQL_SCALES:-1000000} HOTSQL_ROUNDS=${HOTSQL_ROUNDS:-3}
  export ALERTS=${ALERTS:-100000} FINDINGS=${FINDINGS:-100000} BULK_SCALE=${BULK_SCALE:-100000} BULK_N=${BULK_N:-5000}
  export SOAK_MINUTES=${SOAK_MINUTES:-3} WEB_FINDINGS=${WEB_FINDINGS:-100000}
fi

selected=()
if [ $render_only = 0 ]; then
  for b in $(echo "${BENCH:-$ALL}" | tr ',' ' '); do
    case " $KNOWN " in
      *" $b "*) selected+=("$b") ;;
      *) echo "bench/run.sh: unknown benchmark '$b' (known: $KNOWN)" >&2; exit 64 ;;
    esac
  done
fi

work=$(mktemp -d /tmp/qf-bench-run.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The knobs of each benchmark and their defaults (the targets' scales):
# those set to something else are written beside its figures.
settings() {
  local spec out="" k def v
  case "$1" in
    capture) spec="ROWS=100000 ROUNDS=7" ;;
    deliver) spec="SIZES=20000_60000" ;;
    latency) spec="RATE=200 COUNT=4000 SEED=20000" ;;
    hotkey)  spec="RATE=200 HOT_COUNT=400 HISTORY=0_20000_100000 IMPORT=50000 HOTKEY_REPEAT=3" ;;
    hotsql)  spec="HOTSQL_SCALES=1000000_10000000 HOTSQL_KEYS=50 HOTSQL_HISTORY=20000 HOTSQL_NEW=1000 HOTSQL_ROUNDS=5 HOTSQL_SHARED_BUFFERS=2GB" ;;
    gauges)  spec="ALERTS=1000000 FINDINGS=1000000" ;;
    eval)    spec="SCALES=1000000_10000000 ROUNDS_INCR=5 INCREMENTAL_ONLY=" ;;
    bulk)    spec="BULK_SCALE=1000000 BULK_N=50000" ;;
    web)     spec="WEB_FINDINGS=1000000 WEB_ROUNDS=20" ;;
    soak)    spec="SOAK_MINUTES=30 SOAK_RATE=25 SOAK_WARMUP=" ;;
  esac
  for kv in $spec; do
    k=${kv%%=*}; def=${kv#*=}; def=${def//_/ }
    v=${!k-}
    if [ -n "$v" ] && [ "$v" != "$def" ]; then out="$out${out:+ }$k=\"$v\""; fi
  done
  printf '%s' "$out"
}

machine() {
  local cpu n ram kern deb pg gccv virt bindir
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1 | tr -s ' ')
  n=$(grep -c '^processor' /proc/cpuinfo)
  ram=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  kern="Linux $(uname -r)"
  deb="Debian $(cat /etc/debian_version 2>/dev/null || echo '?')"
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r | head -1)
  pg=$("$bindir/postgres" -V 2>/dev/null | sed -n 's/.*(PostgreSQL) \([^ ]*\).*/PostgreSQL \1/p')
  gccv="gcc $(gcc -dumpfullversion 2>/dev/null || echo '?')"
  virt=$(systemd-detect-virt 2>/dev/null || true)
  [ -n "$virt" ] && [ "$virt" != none ] && virt=" ($virt)" || virt=""
  printf '%s × %s%s, %s RAM, %s, %s, %s, %s' "$n" "$cpu" "$virt" "$ram" "$kern" "$deb" "${pg:-PostgreSQL ?}" "$gccv"
}

: >"$work/new.tsv"
failed=()
if [ ${#selected[@]} -gt 0 ]; then
  mach=$(machine)
  echo "bench: ${selected[*]} on $mach (QF_BUILD=$QF_BUILD)"
fi
for b in "${selected[@]}"; do
  echo "== bench/$b.sh $(settings "$b")"
  start=$(date +%s)
  # the human output as it comes; the RESULT lines are collected
  "$ROOT/tools/pgtmp.sh" "$ROOT/bench/$b.sh" 2>&1 | tee "$work/$b.out" | grep --line-buffered -v '^RESULT	'
  rc=${PIPESTATUS[0]}
  secs=$(( $(date +%s) - start ))
  n=$(grep -c '^RESULT	' "$work/$b.out")
  status=ok
  if [ "$rc" -ne 0 ] || [ "$n" -eq 0 ]; then
    if [ "$rc" -ne 0 ]; then status="failed (exit $rc)"; else status="failed (no RESULT line)"; fi
    failed+=("$b")
    echo "bench: bench/$b.sh FAILED (exit $rc, $n RESULT line(s), ${secs} s)" >&2
  else
    echo "== bench/$b.sh: $n figure(s) in ${secs} s"
  fi
  printf 'run\t%s\t%s\t%s\t%s\t%s\n' "$b" "$(date +%Y-%m-%d)" "$mach" "$(settings "$b")" "$status" >>"$work/new.tsv"
  grep '^RESULT	' "$work/$b.out" | awk -F'\t' -v OFS='\t' -v b="$b" '{ $1 = "row\t" b; print }' >>"$work/new.tsv"
  if [ "$status" != ok ]; then
    printf 'row\t%s\t%s-failed\tbench/%s.sh\t—\t%s after %s s (see the output of make bench)\tno\n' \
      "$b" "$b" "$b" "$status" "$secs" >>"$work/new.tsv"
  fi
done

# rewrite the block: the stored data of the benchmarks not run are kept
perl -CSD -e '
  use strict; use warnings;
  my ($md, $new) = @ARGV;
  my @order = qw(capture eval bulk deliver latency hotkey hotsql gauges web soak);
  local $/;
  open(my $f, "<:encoding(UTF-8)", $md) or die "bench/run.sh: $md: $!\n";
  my $text = <$f>; close $f;
  $text =~ /^(.*?<!-- bench:begin -->\n)(.*?)(<!-- bench:end -->.*)\z/s
    or die "bench/run.sh: $md has no <!-- bench:begin --> ... <!-- bench:end --> block\n";
  my ($head, $block, $tail) = ($1, $2, $3);
  my (%run, %rows, @note);
  my $data = $block =~ /<!-- bench:data\n(.*?)-->/s ? $1 : "";
  for (split /\n/, $data) {
    my @c = split /\t/, $_, -1;
    if ($c[0] eq "run") { $run{$c[1]} = [@c[2 .. 5]] }
    elsif ($c[0] eq "row") { push @{$rows{$c[1]}}, [@c[2 .. 6]] }
    elsif ($c[0] eq "note") { push @note, $c[1] }
  }
  open(my $n, "<:encoding(UTF-8)", $new) or die; my @new = split /\n/, <$n> // ""; close $n;
  my %fresh;
  for (@new) {
    my @c = split /\t/, $_, -1;
    if ($c[0] eq "run") { $run{$c[1]} = [@c[2 .. 5]]; $rows{$c[1]} = []; $fresh{$c[1]} = 1 }
    elsif ($c[0] eq "row") { push @{$rows{$c[1]}}, [@c[2 .. 6]] }
  }
  @note = () if %fresh;   # a note describes the stored figures, not new ones
  my @groups = grep { $run{$_} } @order;
  my $esc = sub { my $s = shift // ""; $s =~ s/\|/\\|/g; $s };
  # lines "X: a, b; Y: c" for a property shared by groups
  my $by = sub { my $i = shift; my (%g, @k);
    for my $g (@groups) { my $v = $run{$g}[$i]; push @k, $v unless $g{$v}; push @{$g{$v}}, $g }
    return (scalar(@k), join("; ", map { join(", ", @{$g{$_}}) . ": $_" } @k), $k[0]) };
  my $out = "<!-- Generated by bench/run.sh (make bench) from the data at the end of this block:\n"
          . "     edit the text below the block, not the block. -->\n\n";
  if (@groups) {
    my ($nm, $ms, $m1) = $by->(1);
    $out .= $nm == 1 ? "Machine: $m1.  \n" : "Machines: $ms.  \n";
    my ($nd, $ds, $d1) = $by->(0);
    $out .= $nd == 1 ? "Date: $d1.\n" : "Dates: $ds.\n";
    my @set = grep { $run{$_}[2] ne "" } @groups;
    $out .= "\nSettings other than the defaults (the defaults are the targets\x27 scales): "
          . join("; ", map { "$_ with $run{$_}[2]" } @set) . ".\n" if @set;
    $out .= "\n$_\n" for @note;
    $out .= "\n| benchmark | target (issue) | result | met |\n|---|---|---|---|\n";
    for my $g (@groups) {
      for my $r (@{$rows{$g}}) {
        my ($id, $what, $target, $value, $met) = @$r;
        $met = $met eq "no" ? "**no**" : $met;
        $out .= "| " . join(" | ", map { $esc->($_) } $what, $target, $value) . " | $met |\n";
      }
    }
    my @bad = grep { $run{$_}[3] ne "ok" } @groups;
    $out .= "\nFailed: " . join(", ", map { "bench/$_.sh ($run{$_}[3])" } @bad) . ".\n" if @bad;
  } else {
    $out .= "No figures yet: run `make bench`.\n";
  }
  $out .= "\n<!-- bench:data\n";
  $out .= "note\t$_\n" for @note;
  for my $g (@groups) {
    $out .= join("\t", "run", $g, @{$run{$g}}) . "\n";
    $out .= join("\t", "row", $g, @$_) . "\n" for @{$rows{$g}};
  }
  $out .= "-->\n";
  open(my $w, ">:encoding(UTF-8)", "$md.tmp") or die "bench/run.sh: $md.tmp: $!\n";
  print $w $head, "\n", $out, $tail; close $w or die;
  rename "$md.tmp", $md or die "bench/run.sh: $md: $!\n";
' "$RESULTS_MD" "$work/new.tsv" || { echo "bench/run.sh: could not write $RESULTS_MD" >&2; exit 1; }

# the table, as written
sed -n '/^| benchmark |/,/^$/p' "$RESULTS_MD"
[ ${#selected[@]} -gt 0 ] && echo "bench: wrote $RESULTS_MD"
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench: FAILED: ${failed[*]}" >&2
  exit 1
fi
exit 0
