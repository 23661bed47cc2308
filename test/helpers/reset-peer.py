#!/usr/bin/env python3
"""Python TCP peers whose sockets report a reset as an error (ECONNRESET), unlike a Node peer.

  reset-peer.py server ROLE [opts]          listens on 127.0.0.1:0, prints {"port":N}, serves one connection
  reset-peer.py client ROLE HOST:PORT [opts]

ROLE:
  sender  writes --bytes then either resets (--end rst: SO_LINGER(1,0) + close -> RST) or
          half-closes (--end fin: shutdown(SHUT_WR)) and then reads the reply to EOF.
  reader  reads at --rate bytes/s (0 = as fast as it can) until EOF or error; on a clean EOF it
          sends --reply bytes back and closes (so a half-closed sender gets its reply).
Prints one JSON line with what it saw.
"""
import argparse, json, select, socket, struct, sys, time


def pattern(n, off=0):
    # position-dependent bytes, so truncation / corruption is visible
    base = bytes(range(256)) * 4096  # 1 MiB
    out = bytearray()
    while len(out) < n:
        out += base
    return bytes(out[:n])


def run_sender(s, a):
    data = pattern(a.bytes)
    sent = 0
    s.setblocking(False)
    last_progress = time.monotonic()
    while sent < len(data):
        try:
            n = s.send(data[sent:sent + (1 << 20)])
            sent += n
            last_progress = time.monotonic()
        except BlockingIOError:
            if a.end == 'rst' and a.stall_ms and time.monotonic() - last_progress > a.stall_ms / 1000:
                break  # stalled: the relay has us paused; reset with data still queued
            select.select([], [s], [], 0.05)
        except OSError as e:
            return {'role': 'sender', 'sent': sent, 'error': e.__class__.__name__ + ':' + str(e.errno)}
    if a.end == 'finrst':
        s.shutdown(socket.SHUT_WR)
        time.sleep(a.rst_delay_ms / 1000)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.close()
        return {'role': 'sender', 'sent': sent, 'end': 'finrst'}
    if a.end == 'rst':
        if a.rst_delay_ms:
            time.sleep(a.rst_delay_ms / 1000)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.close()
        return {'role': 'sender', 'sent': sent, 'end': 'rst'}
    s.setblocking(True)
    s.shutdown(socket.SHUT_WR)
    got = 0
    end = 'eof'
    try:
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            got += len(b)
    except OSError as e:
        end = e.__class__.__name__
    s.close()
    return {'role': 'sender', 'sent': sent, 'end': 'fin', 'reply': got, 'replyEnd': end}


def run_reader(s, a):
    if a.fin_first:
        s.shutdown(socket.SHUT_WR)
    got = 0
    ok = True
    start = time.monotonic()
    expect = pattern(a.bytes) if a.bytes else None
    end = 'eof'
    try:
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            if expect is not None and expect[got:got + len(b)] != b:
                ok = False
            got += len(b)
            if a.rate:
                ahead = got / a.rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
    except OSError as e:
        end = e.__class__.__name__
    res = {'role': 'reader', 'bytes': got, 'end': end, 'intact': ok, 'secs': round(time.monotonic() - start, 2)}
    if end == 'eof' and a.reply and not a.fin_first:
        try:
            s.sendall(pattern(a.reply))
            s.shutdown(socket.SHUT_WR)
            res['replied'] = a.reply
        except OSError as e:
            res['replyError'] = e.__class__.__name__
    s.close()
    return res


def main():
    p = argparse.ArgumentParser()
    p.add_argument('side', choices=['server', 'client'])
    p.add_argument('role', choices=['sender', 'reader'])
    p.add_argument('addr', nargs='?')
    p.add_argument('--bytes', type=int, default=8 << 20)
    p.add_argument('--end', choices=['rst', 'fin', 'finrst'], default='rst')
    p.add_argument('--fin-first', action='store_true', help='reader: shutdown(SHUT_WR) at once (request done), then read')
    p.add_argument('--rate', type=float, default=0)
    p.add_argument('--reply', type=int, default=0)
    p.add_argument('--stall-ms', type=int, default=0)
    p.add_argument('--rst-delay-ms', type=int, default=0)
    p.add_argument('--rcvbuf', type=int, default=0)
    a = p.parse_args()
    if a.side == 'server':
        ls = socket.socket()
        ls.bind(('127.0.0.1', 0))
        ls.listen(1)
        print(json.dumps({'port': ls.getsockname()[1]}), flush=True)
        s, _ = ls.accept()
        ls.close()
    else:
        host, port = a.addr.rsplit(':', 1)
        s = socket.socket()
        if a.rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
        s.connect((host, int(port)))
    if a.rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    res = run_sender(s, a) if a.role == 'sender' else run_reader(s, a)
    print(json.dumps(res), flush=True)


if __name__ == '__main__':
    main()
