package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws one line on a terminal, redrawn in place; on anything else
// (a log file, CI) it prints a line every few seconds instead.
type progress struct {
	w         io.Writer
	label     string
	total     int
	tty       bool
	submitted atomic.Int64
	finished  atomic.Int64
	began     time.Time
	done      chan struct{}
	wg        sync.WaitGroup
}

func newProgress(w io.Writer, label string, total int) *progress {
	p := &progress{w: w, label: label, total: total}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) start() {
	p.began = time.Now()
	if p.w == nil {
		return
	}
	p.done = make(chan struct{})
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				p.draw(true)
				return
			case <-t.C:
				p.draw(false)
			}
		}
	}()
}

func (p *progress) stop() {
	if p.done == nil {
		return
	}
	close(p.done)
	p.wg.Wait()
}

func (p *progress) draw(last bool) {
	fin, sub := int(p.finished.Load()), int(p.submitted.Load())
	el := time.Since(p.began)
	const width = 30
	n := 0
	if p.total > 0 {
		n = min(fin*width/p.total, width)
	}
	line := fmt.Sprintf("%-8s [%s%s] %d/%d done · %d submitted · %.0f/s · %s",
		p.label, strings.Repeat("#", n), strings.Repeat(".", width-n), fin, p.total, sub,
		float64(fin)/max(el.Seconds(), 1e-3), el.Round(time.Second))
	switch {
	case p.tty && last:
		fmt.Fprintf(p.w, "\r\033[K%s\n", line)
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	default:
		fmt.Fprintln(p.w, line)
	}
}
