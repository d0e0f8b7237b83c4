#!/usr/bin/perl
# mmap(2) reads and writes for the mount tests, in core Perl (perl-base is on
# every Debian system; Node has no mmap). A MAP_SHARED mapping is filled or
# read by read(2)/write(2) system calls on the mapped addresses, so every byte
# goes through the page cache of the file, as a program using mmap would.
#   mmap.pl write FILE OFFSET < DATA     store stdin at OFFSET, msync, munmap
#   mmap.pl read FILE OFFSET LENGTH      print LENGTH bytes from OFFSET
# FILE must already cover the range (past its end mmap gives SIGBUS).
use strict;
use warnings;
use POSIX ();

my %NR = (
  x86_64  => {read => 0,  write => 1,  mmap => 9,   munmap => 11,  msync => 26},
  aarch64 => {read => 63, write => 64, mmap => 222, munmap => 215, msync => 227},
);
my $nr = $NR{(POSIX::uname())[4]} or die "mmap.pl: unsupported architecture\n";
my ($op, $file, $offset, $length) = @ARGV;
die "usage: mmap.pl write FILE OFFSET < DATA | mmap.pl read FILE OFFSET LENGTH\n" unless $op && defined $offset;

my $data = '';
if ($op eq 'write') {
  local $/;
  binmode STDIN;
  $data = <STDIN> // '';
  $length = length $data;
}
exit 0 unless $length;
my $page = 4096;
my $base = $offset - $offset % $page;
my $span = $offset - $base + $length;
open(my $fh, $op eq 'write' ? '+<' : '<', $file) or die "mmap.pl: $file: $!\n";
my $prot = $op eq 'write' ? 3 : 1;    # PROT_READ|PROT_WRITE or PROT_READ
my $addr = syscall($nr->{mmap}, 0, $span, $prot, 1, fileno($fh), $base);    # MAP_SHARED
die "mmap.pl: mmap: $!\n" if $addr == -1;
my $at = $addr + ($offset - $base);
if ($op eq 'write') {
  pipe(my $r, my $w) or die;
  my $pid = fork();
  if (!$pid) { close $r; binmode $w; print $w $data; close $w; POSIX::_exit(0) }
  close $w;
  my $done = 0;
  while ($done < $length) {
    my $n = syscall($nr->{read}, fileno($r), $at + $done, $length - $done);
    die "mmap.pl: read into the mapping: $!\n" if $n <= 0;
    $done += $n;
  }
  waitpid($pid, 0);
  syscall($nr->{msync}, $addr, $span, 4) == 0 or die "mmap.pl: msync: $!\n";    # MS_SYNC
} else {
  my $done = 0;
  while ($done < $length) {
    my $n = syscall($nr->{write}, 1, $at + $done, $length - $done);
    die "mmap.pl: write from the mapping: $!\n" if $n <= 0;
    $done += $n;
  }
}
syscall($nr->{munmap}, $addr, $span);
close $fh;
