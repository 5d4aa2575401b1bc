# gnuplot script for bench/report.py: grouped bars (median, min-max error
# bars) per workload and device. Variables: dat (input), out (PNG).
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
plot dat using 2:3:4:xtic(1) title "brd (local, ceiling)", \
     '' using 5:6:7 title "NBD", \
     '' using 8:9:10 title "NVMe/TCP", \
     '' using 11:12:13 title "qbd/TCP", \
     '' using 14:15:16 title "NVMe/RDMA (rxe)", \
     '' using 17:18:19 title "qbd/RDMA (rxe)"
