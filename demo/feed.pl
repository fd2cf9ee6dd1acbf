#!/usr/bin/perl
# Replays a `qf-gen --stream` file into PostgreSQL at a pace a person can
# watch, for `make demo` (tools/demo.sh). Every record event is one
# statement and commits on its own (psql's autocommit). The events go in
# ticks: the first few one by one, then a working day at a time, then ever
# longer stretches. Before each tick's records are committed, one line says
# what they are, so the alerts the daemon raises for them come right after
# it on the screen.
#
#   demo/feed.pl [--pace P] [--color] [--intro N] [--days N] DB STREAM-FILE
#
# --pace multiplies the pauses between ticks (1: about 45 s for a stream of
# 34 000 events; 0: no pauses, as fast as psql commits). The connection
# comes from the PG* environment variables (tools/pgtmp.sh sets them).
# Only core Perl modules.
use strict;
use warnings;
use Getopt::Long;
use Time::HiRes qw(time sleep);

my ($pace, $color, $intro, $days) = (1, 0, 6, 24);
GetOptions('pace=f' => \$pace, 'color!' => \$color, 'intro=i' => \$intro, 'days=i' => \$days)
  && @ARGV == 2 or die "usage: feed.pl [--pace P] [--color] [--intro N] [--days N] DB STREAM-FILE\n";
my ($db, $file) = @ARGV;
binmode STDOUT, ':raw';
$| = 1;

# what each kind of event is: the system it comes from and its name
my %KIND = (
  'task.received' => ['LIMS', '收样 sample received'],
  'task.started'  => ['LIMS', '开始检测 test started'],
  'task.tested'   => ['LIMS', '检测完成 test finished'],
  'task.reviewed' => ['LIMS', '审核 reviewed'],
  'task.approved' => ['LIMS', '批准 approved'],
  'task.issued'   => ['LIMS', '签发报告 report issued'],
  'result'        => ['LIMS', '检测结果 result'],
  'oos.opened'    => ['LIMS', 'OOS 调查 investigation opened'],
  'oos.closed'    => ['LIMS', 'OOS 调查结束 investigation closed'],
  'amendment'     => ['LIMS', '报告更改 report amended'],
  'audit'         => ['LIMS', '审计追踪 audit trail'],
  'equipment_use' => ['LIMS', '设备使用 instrument used'],
  'order'         => ['ERP', '采购订单 purchase order'],
  'payment.posted'=> ['ERP', '付款制单 payment posted'],
  'payment.paid'  => ['ERP', '付款支付 payment paid'],
  'claim'         => ['ERP', '报销 reimbursement claim'],
  'discount'      => ['ERP', '检测费折扣 fee discount'],
  'gift'          => ['纪检', '礼品登记 gift'],
  'hospitality'   => ['纪检', '宴请 hospitality'],
  'complaint'     => ['纪检', '信访举报 complaint'],
  'reception'     => ['办公室', '公务接待 official reception'],
  # the optional tables of the lab-integrity rules (RULES-LAB.md)
  'subcontract'   => ['LIMS', '分包 item subcontracted'],
  'sampling'      => ['LIMS', '现场抽样 on-site sampling'],
  'retained'      => ['LIMS', '留样 sample retained'],
  'retained.disposed' => ['LIMS', '留样处置 retained sample disposed of'],
  'report.issue'  => ['LIMS', '报告发放 report version issued'],
  'invoice'       => ['ERP', '检测费开票 test fee invoiced'],
);
my @WEEKDAY = qw(周日 周一 周二 周三 周四 周五 周六);
my ($c_tick, $c_dim, $c_off) = $color ? ("\e[36m", "\e[2m", "\e[0m") : ('', '', '');

# the stream: "-- @ DATE TIME KIND ID NOTE..." then one statement
my @ev;
open(my $in, '<:raw', $file) or die "feed.pl: $file: $!\n";
my $head;
while (my $line = <$in>) {
  if ($line =~ /^-- @ (\d{4}-\d\d-\d\d) (\d\d:\d\d):\d\d\S* (\S+) (\S+)(.*)$/) {
    $head = [$1, $2, $3, $4, $5];
  } elsif ($line !~ /^--/ && $line =~ /\S/) {
    die "feed.pl: $file: a statement without its \"-- @\" line\n" unless $head;
    push @ev, [@$head, $line];
    undef $head;
  }
}
close $in;
exit 0 unless @ev;

sub weekday { # 0 = Sunday, for a YYYY-MM-DD date (Sakamoto)
  my ($y, $m, $d) = split /-/, shift;
  my @t = (0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4);
  $y-- if $m < 3;
  return ($y + int($y / 4) - int($y / 100) + int($y / 400) + $t[$m - 1] + $d) % 7;
}
sub group { my $s = $KIND{$_[0]}; return $s ? $s->[0] : '?' }
sub thousands { my $n = reverse shift; $n =~ s/(\d{3})(?=\d)/$1 /g; return scalar reverse $n }

my $done = 0;
my $total = @ev;
sub commit { # commit events [$from, $to) one statement each, with a line saying what they are
  my ($from, $to, $line) = @_;
  my $t0 = time;
  print $line;
  open(my $psql, '|-', 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $db) or die "feed.pl: psql: $!\n";
  binmode $psql, ':raw';
  print $psql $ev[$_][5] for $from .. $to - 1;
  close $psql or die "feed.pl: psql failed (exit " . ($? >> 8) . ") in the records of: $line";
  $done = $to;
  return time - $t0;
}
sub pause { my ($want, $spent) = @_; sleep($want * $pace - $spent) if $want * $pace > $spent }

my $i = 0;
# 1. the first few records one by one
for (; $i < @ev && $i < $intro; $i++) {
  my ($d, $hm, $kind, $id, $note) = @{$ev[$i]};
  my $k = $KIND{$kind} || ['?', $kind];
  pause(0.8, commit($i, $i + 1, sprintf("%s▸ %s %s%s  %s  %s  %s%s\n", $c_tick, $d, $hm, $c_off, $k->[0], $k->[1], $id, $note)));
}
# 2. a day at a time, then longer and longer stretches
my ($tick, $span) = (0, 1);
while ($i < @ev) {
  my $first = $ev[$i][0];
  my ($j, $last, $ndays, %n) = ($i, '', 0);
  while ($j < @ev) {
    my $d = $ev[$j][0];
    if ($d ne $last) {
      last if $ndays >= $span;
      ($last, $ndays) = ($d, $ndays + 1);
    }
    $n{group($ev[$j][2])}++;
    $j++;
  }
  my $when = $first eq $last ? sprintf("%s %s", $first, $WEEKDAY[weekday($first)]) : "$first … $last";
  my $parts = join(' · ', map { "$_ $n{$_}" } grep { $n{$_} } 'LIMS', 'ERP', '纪检', '办公室');
  my $line = sprintf("%s▸ %s%s  %s 笔提交 commits: %s  %s(%s / %s)%s\n", $c_tick, $when, $c_off,
    thousands($j - $i), $parts, $c_dim, thousands($j), thousands($total), $c_off);
  pause(0.6, commit($i, $j, $line));
  $i = $j;
  $tick++;
  $span = $tick < $days ? 1 : $span * 1.3 > 21 ? 21 : $span * 1.3;
}
