# Counts the pixels of the report's bar colour (#c0392b) in a PNG: the
# proof that the charts were drawn, not just that a page was rendered.
# A second argument counts another colour (RRGGBB), or "ink" the pixels
# that are not near white (a page not blank), or "height" gives the rows
# down to the last one with ink (how long the page is).
use strict; use warnings; use Compress::Zlib;
open(my $f, "<:raw", $ARGV[0]) or die "$ARGV[0]: $!\n";
my $mode = $ARGV[1] // "c0392b";
my @want = $mode =~ /^([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i ? map { hex } ($1, $2, $3) : ();
@want || $mode eq "ink" || $mode eq "height" or die "colour RRGGBB, ink or height, not $mode\n";
local $/; my $d = <$f>;
substr($d, 0, 8) eq "\x89PNG\r\n\x1a\n" or die "not a PNG\n";
my ($w, $h, $bd, $ct, $il, $idat) = (0, 0, 0, 0, 0, "");
for (my $p = 8; $p < length $d;) {
  my ($len, $type) = unpack("N a4", substr($d, $p, 8));
  my $body = substr($d, $p + 8, $len); $p += 12 + $len;
  if ($type eq "IHDR") { ($w, $h, $bd, $ct, undef, undef, $il) = unpack("N N C C C C C", $body) }
  elsif ($type eq "IDAT") { $idat .= $body }
}
$bd == 8 && ($ct == 2 || $ct == 6) && !$il or die "unsupported PNG (depth $bd, type $ct, interlace $il)\n";
my $bpp = $ct == 6 ? 4 : 3; my $stride = $w * $bpp;
my $raw = uncompress($idat) // die "bad zlib data\n";
my @prev = (0) x $stride; my $n = 0; my $last = 0;
for my $y (0 .. $h - 1) {
  my $off = $y * ($stride + 1); my $ft = ord substr($raw, $off, 1);
  my @c = unpack("C*", substr($raw, $off + 1, $stride)); my @r;
  for my $i (0 .. $stride - 1) {
    my $a = $i >= $bpp ? $r[$i - $bpp] : 0; my $b = $prev[$i]; my $cc = $i >= $bpp ? $prev[$i - $bpp] : 0;
    my $v = $c[$i];
    if ($ft == 1) { $v += $a } elsif ($ft == 2) { $v += $b } elsif ($ft == 3) { $v += int(($a + $b) / 2) }
    elsif ($ft == 4) { my $pp = $a + $b - $cc; my ($pa, $pb, $pc) = (abs($pp - $a), abs($pp - $b), abs($pp - $cc));
      $v += ($pa <= $pb && $pa <= $pc) ? $a : ($pb <= $pc ? $b : $cc) }
    push @r, $v & 255;
  }
  for (my $i = 0; $i < $stride; $i += $bpp) {
    if (@want) {
      $n++ if abs($r[$i] - $want[0]) <= 6 && abs($r[$i + 1] - $want[1]) <= 6 && abs($r[$i + 2] - $want[2]) <= 6;
    } elsif ($r[$i] < 200 || $r[$i + 1] < 200 || $r[$i + 2] < 200) {
      $n++; $last = $y + 1;
    }
  }
  @prev = @r;
}
print $mode eq "height" ? "$last\n" : "$n\n";
