# gnuplot script for bench/report.py: grouped bars (median, min-max error
# bars) per workload and device. Variables: dat (input), out (PNG),
# plotcmd (the plot command, built by report.py).
set terminal pngcairo size 1200,560 font ",10"
set output out
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y
set grid ytics
set key top right
set ylabel "IOPS (4k) / MiB/s (128k), log scale"
set title "4k IOPS and 128k MiB/s under QEMU TCG, brd backend (median, min-max)"
set xtics nomirror
set bmargin 4
# report.py passes the plot command: only devices that have numbers get
# a bar group (an all-NaN column makes gnuplot give up on the whole chart).
eval plotcmd
