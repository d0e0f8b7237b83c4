#!/usr/bin/perl
# Extended-attribute system calls with exact arguments, for the mount tests
# (to see ERANGE, and the XATTR_CREATE / XATTR_REPLACE flags). Prints the
# value (get: hex) or names (list: one per line), or "errno NAME" on failure.
#   xattr.pl get FILE NAME SIZE | set FILE NAME HEXVALUE FLAGS | list FILE SIZE | remove FILE NAME
# (HEXVALUE may be fill:COUNT:HH, COUNT bytes of HH, for values too long for argv)
use strict;
use warnings;
use POSIX ();
use Errno ();

my %NR = (
  x86_64  => {setxattr => 188, getxattr => 191, listxattr => 194, removexattr => 197},
  aarch64 => {setxattr => 5,   getxattr => 8,   listxattr => 11,  removexattr => 14},
);
my $nr = $NR{(POSIX::uname())[4]} or die "xattr.pl: unsupported architecture\n";
my ($op, $file, @a) = @ARGV;

sub fail {
  my %names = map { my $v = eval "Errno::$_()"; defined $v ? ($v => $_) : () } @Errno::EXPORT_OK;
  print "errno ", ($names{$! + 0} // $! + 0), "\n";
  exit 0;
}

if ($op eq 'get') {
  my ($name, $size) = ($a[0], $a[1] + 0);
  my $buf = "\0" x ($size || 1);
  my $n = syscall($nr->{getxattr}, $file, $name, $size ? $buf : 0, $size);
  fail() if $n < 0;
  print $size ? unpack('H*', substr($buf, 0, $n)) : "size $n", "\n";
} elsif ($op eq 'set') {
  my ($name, $hex, $flags) = @a;
  my $val = $hex =~ /^fill:(\d+):([0-9a-f]{2})$/ ? chr(hex $2) x $1 : pack('H*', $hex);
  syscall($nr->{setxattr}, $file, $name, $val, length $val, $flags + 0) == 0 or fail();
  print "ok\n";
} elsif ($op eq 'list') {
  my $size = $a[0] + 0;
  my $buf = "\0" x ($size || 1);
  my $n = syscall($nr->{listxattr}, $file, $size ? $buf : 0, $size);
  fail() if $n < 0;
  print $size ? join("\n", grep { length } split(/\0/, substr($buf, 0, $n))) : "size $n", "\n";
} elsif ($op eq 'remove') {
  syscall($nr->{removexattr}, $file, $a[0]) == 0 or fail();
  print "ok\n";
} else {
  die "usage: xattr.pl get|set|list|remove ...\n";
}
