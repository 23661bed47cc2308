package main

import (
	"encoding/binary"
	"net"
	"sync"
)

// sniffConn wraps the TCP connection handed to yamux and parses the frames the peer sends
// (12-byte header: version, type, flags, stream id, length; DATA frames carry length payload
// bytes) to learn, per stream, how many DATA bytes arrived and whether a FIN or RST did.
// It only observes: every byte is passed to yamux unchanged.
type sniffConn struct {
	net.Conn

	mu      sync.Mutex
	hdr     [12]byte
	hdrLen  int
	payload uint32 // DATA payload bytes still to skip for the current frame
	cur     uint32 // stream id of the current DATA frame
	streams map[uint32]*sniffStream
}

type sniffStream struct {
	dataBytes int64
	fin, rst  bool
}

const (
	typeData = 0
	flagFIN  = 0x4
	flagRST  = 0x8
)

func newSniffConn(c net.Conn) *sniffConn {
	return &sniffConn{Conn: c, streams: map[uint32]*sniffStream{}}
}

func (c *sniffConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.observe(b[:n])
	}
	return n, err
}

func (c *sniffConn) observe(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(b) > 0 {
		if c.payload > 0 {
			k := uint32(len(b))
			if k > c.payload {
				k = c.payload
			}
			c.get(c.cur).dataBytes += int64(k)
			c.payload -= k
			b = b[k:]
			continue
		}
		k := copy(c.hdr[c.hdrLen:], b)
		c.hdrLen += k
		b = b[k:]
		if c.hdrLen < len(c.hdr) {
			return
		}
		c.hdrLen = 0
		typ := c.hdr[1]
		flags := binary.BigEndian.Uint16(c.hdr[2:4])
		id := binary.BigEndian.Uint32(c.hdr[4:8])
		length := binary.BigEndian.Uint32(c.hdr[8:12])
		if id != 0 && (typ == 0 || typ == 1) { // DATA or WINDOW_UPDATE
			st := c.get(id)
			if flags&flagFIN != 0 {
				st.fin = true
			}
			if flags&flagRST != 0 {
				st.rst = true
			}
		}
		if typ == typeData {
			c.cur, c.payload = id, length
		}
	}
}

func (c *sniffConn) get(id uint32) *sniffStream {
	st := c.streams[id]
	if st == nil {
		st = &sniffStream{}
		c.streams[id] = st
	}
	return st
}

// stream returns a snapshot of what was seen for stream id.
func (c *sniffConn) stream(id uint32) sniffStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.streams[id]; st != nil {
		return *st
	}
	return sniffStream{}
}
