# asock-bench chart: each case's rate as a ratio to the hand-written raw epoll loop (1.0),
# one bar per implementation.  Called by asock-bench --chart FILE with
#   datafile, outfile, termspec, ncols   set on the command line (-e).
set terminal @termspec noenhanced font ",10"
set output outfile
set title "asock-bench: rate relative to the raw epoll loop (higher is better; udp_pump: receiver CPU per datagram, inverted)"
set datafile separator "\t"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top vertical
set grid ytics
set ylabel "x raw epoll"
set yrange [0:*]
set xtics rotate by -35 scale 0
set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 lc rgb "#444444"
plot for [i=2:ncols+1] datafile using i:xtic(1) title columnheader(i)
