#!/usr/bin/perl
# Random interleavings of inserts, updates and deletes on hot keys, for
# tests/t/82-hotkeys-reconcile.t: a few vendors, clients and persons with
# long histories, then ROUNDS rounds of a few transactions each. Writes
# DIR/history.sql and DIR/round-N.sql. Deterministic for a SEED.
#
# Every instant is NOW minus whole days and 1 to 23 hours: at least an hour
# from the edges of the rules' windows (NOW - N days), on the clock the test
# fixes, and spread over the UTC days, so the windows' edge days (where the
# summaries end and the rows are counted) hold rows.
#
#   hotkeys-gen.pl DIR SEED ROUNDS
use strict;
use warnings;

my ($dir, $seed, $rounds) = @ARGV;
srand($seed);
my $NOW = "timestamptz '2026-11-25 12:00+08'";

sub pick { $_[int rand @_] }
sub ts {
	my ($lo, $hi) = @_;
	my $d = $lo + int rand($hi - $lo + 1);
	# a fifth on the days where windows end: today, and 90 or 365 days ago
	$d = pick(grep { $_ >= $lo && $_ <= $hi } 0, 89, 90, 364, 365) // $d if rand() < 0.2;
	my $m = 60 + int rand 1320;    # minutes
	return "$NOW - interval '$d days $m minutes'";
}
# later today (UTC, as the per-day summaries count days): F05 takes today's
# whole day less these
sub later_today { my $m = 1 + int rand 600; return "$NOW + interval '$m minutes'" }
sub sq { my $v = shift; return defined $v ? "'$v'" : 'NULL' }

# per table: key column, then column => value generator
my %amount_pool = map { $_ => 1000 + 37 * $_ } 1 .. 12;
my %T = (
	payment => {
		key => 'payment_id', pre => 'p',
		cols => {
			vendor_id  => sub { sq(pick('V1', 'V1', 'V2', 'V2', 'V3')) },
			invoice_no => sub { rand() < 0.1 ? 'NULL' : sq('INV' . int rand 150) },
			amount     => sub { rand() < 0.2 ? $amount_pool{1 + int rand 12} : 10 + int rand 99990 },
			paid_at    => sub { my $r = rand; $r < 0.05 ? 'NULL' : $r < 0.1 ? later_today() : ts(0, 400) },
			posted_at  => sub { ts(0, 400) },
			paid_by    => sub { sq(pick('C1', 'C2')) },
		},
	},
	purchase_order => {
		key => 'po_id', pre => 'o',
		cols => {
			vendor_id  => sub { sq(pick('V1', 'V2')) },
			department => sub { sq(pick('D1', 'D2')) },
			requester  => sub { sq(pick('R1', 'R2', 'R3')) },
			amount     => sub { 20000 + int rand 200000 },
			ordered_at => sub { ts(0, 400) },
		},
	},
	fee_discount => {
		key => 'discount_id', pre => 'd',
		cols => {
			client_id    => sub { sq(pick('C1', 'C2', 'C3')) },
			discount_pct => sub { 5 + int rand 36 },
			approved_by  => sub { sq(pick('A1', 'A2')) },
			approved_at  => sub { ts(0, 700) },
		},
	},
	test_task => {
		key => 'task_id', pre => 't',
		cols => {
			client_id   => sub { sq(pick('C1', 'C1', 'C2', 'C3')) },
			tested_by   => sub { rand() < 0.05 ? 'NULL' : sq(pick('E1', 'E1', 'E1', 'E1', 'E2', 'E3')) },
			received_at => sub { ts(0, 130) },
		},
	},
	gift => {
		key => 'gift_id', pre => 'g',
		cols => {
			person_id     => sub { sq(pick('P1', 'P2', 'P3')) },
			kind          => sub { sq(pick('gift', 'gift', 'gift', 'cash')) },
			value         => sub { 20 + int rand 400 },
			received_at   => sub { ts(31, 800) },
			registered_at => sub { rand() < 0.5 ? 'NULL' : ts(0, 30) },
			handed_in     => sub { pick('true', 'false', 'NULL') },
		},
	},
);
my %live = map { $_ => [] } keys %T;
my $seq = 0;

sub insert {
	my ($tbl, $n) = @_;
	my $t = $T{$tbl};
	my @cols = sort keys %{$t->{cols}};
	my @rows;
	for (1 .. $n) {
		my $id = $t->{pre} . ++$seq;
		push @{$live{$tbl}}, $id;
		push @rows, "('$id', " . join(', ', map { $t->{cols}{$_}->() } @cols) . ")";
	}
	return "INSERT INTO records.$tbl ($t->{key}, " . join(', ', @cols) . ") VALUES\n  " . join(",\n  ", @rows) . ";\n";
}

sub some { my ($tbl, $n) = @_; my $l = $live{$tbl}; return map { $l->[int rand @$l] } 1 .. $n }

# an update of one to four rows: one or two columns, the same new values
# for all (a move of rows between keys or days)
sub update {
	my ($tbl) = @_;
	my $t = $T{$tbl};
	return '' unless @{$live{$tbl}};
	my @ids = some($tbl, 1 + int rand 4);
	my @cols = sort keys %{$t->{cols}};
	my %set = map { my $c = pick(@cols); ($c => $t->{cols}{$c}->()) } 1 .. (1 + int rand 2);
	return "UPDATE records.$tbl SET " . join(', ', map { "$_ = $set{$_}" } sort keys %set)
	     . " WHERE $t->{key} IN (" . join(', ', map { "'$_'" } @ids) . ");\n";
}

sub remove {
	my ($tbl) = @_;
	my $t = $T{$tbl};
	return '' unless @{$live{$tbl}};
	my @ids = some($tbl, 1 + int rand 2);
	my %gone = map { $_ => 1 } @ids;
	$live{$tbl} = [grep { !$gone{$_} } @{$live{$tbl}}];
	return "DELETE FROM records.$tbl WHERE $t->{key} IN (" . join(', ', map { "'$_'" } @ids) . ");\n";
}

open(my $h, '>', "$dir/history.sql") or die "$dir/history.sql: $!";
print $h insert('payment', 1100), insert('purchase_order', 200), insert('fee_discount', 90),
         insert('test_task', 150), insert('gift', 90);
close $h;

for my $r (1 .. $rounds) {
	open(my $f, '>', "$dir/round-$r.sql") or die "$dir/round-$r.sql: $!";
	for (1 .. 1 + int rand 3) {
		print $f "BEGIN;\n";
		for (1 .. 1 + int rand 6) {
			my $tbl = pick(sort keys %T);
			my $x = rand;
			print $f $x < 0.4 ? insert($tbl, 1 + int rand 5) : $x < 0.8 ? update($tbl) : remove($tbl);
		}
		print $f "COMMIT;\n";
	}
	close $f;
}
