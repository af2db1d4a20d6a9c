#!/bin/sh
# The DNS server of the resolve tests (reference/ecosystem.md §4): dnsmasq on its own loopback
# address and a free port, serving only *.test from flags (no config files, no upstream).
#
#   dnsmasq.sh start DIR HELPER   start it; writes DIR/pid and DIR/server, returns once it answers
#   dnsmasq.sh stop DIR           stop it by the PID in DIR/pid
#
# DIR/server holds KEY=VALUE lines the tests read (ASOCK_TEST_DNS_FILE):
#   dns=127.0.53.1:PORT       the server, for asock_loop_options.dns_servers
#   srv_ok_port=N             _fall._tcp.svc.test: ok.test (127.0.53.12) port N, priority 20
#   srv_refuse_port=N         _fall._tcp.svc.test: refuse.test (127.0.53.11) port N, priority 10
# A missing dnsmasq is a failure, never a skip: CI installs dnsmasq-base.
set -u
cmd=${1:-}
dir=${2:-}
helper=${3:-}
addr=127.0.53.1

# alive: exists and is not a zombie waiting for its (new) parent to reap it
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
    [ "$state" != "Z" ]
}

stop_pid() {
    pid=$1
    kill "$pid" 2>/dev/null || return 0
    i=0
    while alive "$pid" && [ $i -lt 100 ]; do
        sleep 0.05
        i=$((i + 1))
    done
    if alive "$pid"; then
        kill -9 "$pid" 2>/dev/null || true
    fi
}

case "$cmd" in
start)
    [ -n "$dir" ] && [ -x "$helper" ] || { echo "usage: $0 start DIR HELPER" >&2; exit 2; }
    dnsmasq_bin=$(command -v dnsmasq 2>/dev/null || true)
    [ -n "$dnsmasq_bin" ] || { [ -x /usr/sbin/dnsmasq ] && dnsmasq_bin=/usr/sbin/dnsmasq; }
    if [ -z "$dnsmasq_bin" ]; then
        echo "FATAL: dnsmasq is not installed (apt-get install dnsmasq-base); the resolve tests need it" >&2
        exit 1
    fi
    mkdir -p "$dir" || exit 1
    # a leftover of an interrupted run
    if [ -f "$dir/pid" ]; then
        stop_pid "$(cat "$dir/pid")"
        rm -f "$dir/pid"
    fi
    rm -f "$dir/server"
    userargs=""
    if [ "$(id -u)" = 0 ]; then
        userargs="--user=root --group=root"
    fi
    ok_port=$("$helper" freeport 127.0.53.12 tcp) || { echo "FATAL: no free port" >&2; exit 1; }
    refuse_port=$("$helper" freeport 127.0.53.11 tcp) || { echo "FATAL: no free port" >&2; exit 1; }
    attempt=0
    while [ $attempt -lt 5 ]; do
        attempt=$((attempt + 1))
        port=$("$helper" freeport $addr udp) || continue
        # shellcheck disable=SC2086
        "$dnsmasq_bin" -k -C /dev/null --pid-file \
            --listen-address=$addr --port="$port" --bind-interfaces \
            --no-resolv --no-hosts --local=/test/ \
            --log-facility=- --log-queries $userargs \
            --local-ttl=5 \
            --host-record=ready.test,127.0.0.1 \
            --host-record=svc1.test,127.0.0.2 \
            --host-record=svc2.test,127.0.0.3,::1 \
            --host-record=v6only.test,::1 \
            --host-record=dual.test,127.0.0.1,::1 \
            --cname=alias.test,dual.test \
            --address=/wild.test/127.0.0.4 \
            --srv-host=_echo2._udp.svc.test,svc1.test,5001,10,60 \
            --srv-host=_echo2._udp.svc.test,svc2.test,5002,10,40 \
            --srv-host=_echo2._udp.svc.test,svc1.test,5003,20,0 \
            --srv-host=_gone._udp.svc.test \
            --host-record=refuse.test,127.0.53.11 \
            --host-record=ok.test,127.0.53.12 \
            --srv-host=_fall._tcp.svc.test,refuse.test,"$refuse_port",10,0 \
            --srv-host=_fall._tcp.svc.test,ok.test,"$ok_port",20,0 \
            --srv-host=_nohost._tcp.svc.test,nosuch.test,7,10,0 \
            --host-record=mcast.test,239.1.2.3 \
            --host-record=bcast.test,127.255.255.255 \
            </dev/null >"$dir/dnsmasq.log" 2>&1 &
        pid=$!
        echo "$pid" >"$dir/pid"
        i=0
        while [ $i -lt 60 ] && kill -0 "$pid" 2>/dev/null; do
            if "$helper" probe $addr "$port" ready.test; then
                {
                    echo "dns=$addr:$port"
                    echo "srv_ok_port=$ok_port"
                    echo "srv_refuse_port=$refuse_port"
                } >"$dir/server"
                echo "dnsmasq (pid $pid) answers on $addr:$port"
                exit 0
            fi
            sleep 0.05
            i=$((i + 1))
        done
        stop_pid "$pid"
        rm -f "$dir/pid"
        echo "dnsmasq attempt $attempt on port $port failed:" >&2
        cat "$dir/dnsmasq.log" >&2
    done
    echo "FATAL: dnsmasq did not start" >&2
    exit 1
    ;;
stop)
    [ -n "$dir" ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
    if [ -f "$dir/pid" ]; then
        stop_pid "$(cat "$dir/pid")"
        rm -f "$dir/pid"
    fi
    rm -f "$dir/server"
    exit 0
    ;;
*)
    echo "usage: $0 start DIR HELPER | stop DIR" >&2
    exit 2
    ;;
esac
