# Counts the pixels of the report's bar colour (#c0392b) in a PNG: the
# proof that the charts were drawn, not just that a page was rendered.
use strict; use warnings; use Compress::Zlib;
open(my $f, "<:raw", $ARGV[0]) or die "$ARGV[0]: $!\n";
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
my @prev = (0) x $stride; my $n = 0;
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
    $n++ if abs($r[$i] - 0xc0) <= 6 && abs($r[$i + 1] - 0x39) <= 6 && abs($r[$i + 2] - 0x2b) <= 6;
  }
  @prev = @r;
}
print "$n\n";
