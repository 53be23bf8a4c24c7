package config

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The decoder walks the node tree itself instead of calling yaml.Unmarshal so
// that it can report every mistake at once, each with its key path and line,
// and suggest the key that was meant.

var (
	durationType  = reflect.TypeFor[time.Duration]()
	perMilleType  = reflect.TypeFor[PerMille]()
	timeOfDayType = reflect.TypeFor[TimeOfDay]()
	weekdayType   = reflect.TypeFor[time.Weekday]()
)

type decoder struct {
	// root is the configuration being filled; pools take their defaults from it,
	// which is why struct keys are decoded in field order (defaults before pools).
	root     *Config
	problems []locatedProblem
	// lines holds the line of every key and list item seen, to place the
	// problems that validation finds later.
	lines map[string]int
	// sources maps a key path to the environment variable its value came from.
	sources map[string]string
}

type locatedProblem struct {
	Problem
	line int
}

func newDecoder(root *Config) *decoder {
	return &decoder{root: root, lines: map[string]int{}, sources: map[string]string{}}
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.problems = append(d.problems, locatedProblem{Problem{Path: path, Message: fmt.Sprintf(format, args...)}, line})
}

// covers reports whether decoding already complained about path or a parent of
// it; validation then stays quiet there, since the value it sees is a stand-in.
func (d *decoder) covers(path string) bool {
	for _, p := range d.problems {
		if path == p.Path || strings.HasPrefix(path, p.Path+".") || strings.HasPrefix(path, p.Path+"[") {
			return true
		}
	}
	return false
}

// located merges decoding problems with later ones, tells where each later one
// is (the environment variable that set it or the line of the nearest key in
// the file), and orders them all as the file reads, so they can be fixed top
// down; problems with no place in the file come last.
func (d *decoder) located(later Problems) Problems {
	all := slices.Clone(d.problems)
	for _, p := range later {
		if name, ok := d.sources[p.Path]; ok {
			p.Message = withWhere(p.Message, "from environment variable "+name)
			all = append(all, locatedProblem{p, 0})
			continue
		}
		all = append(all, locatedProblem{p, d.lineOf(p.Path)})
	}
	rank := func(l int) int {
		if l <= 0 {
			return math.MaxInt
		}
		return l
	}
	slices.SortStableFunc(all, func(a, b locatedProblem) int { return cmp.Compare(rank(a.line), rank(b.line)) })
	var out Problems
	seen := map[Problem]bool{}
	for _, p := range all {
		q := Problem{Path: p.Path, Message: withWhere(p.Message, lineNote(p.line))}
		if !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	return out
}

func (d *decoder) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		path = parent(path)
	}
	return 0
}

func lineNote(line int) string {
	if line <= 0 {
		return ""
	}
	return fmt.Sprintf("line %d", line)
}

// withWhere puts the location between the complaint and the fix, as in
// "unknown key (line 7); did you mean max_units?".
func withWhere(msg, where string) string {
	if where == "" {
		return msg
	}
	if i := strings.Index(msg, "; "); i >= 0 {
		return msg[:i] + " (" + where + ")" + msg[i:]
	}
	return msg + " (" + where + ")"
}

func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// fresh returns the value a section starts from before its keys apply, so
// that a key left out keeps its default.
func (d *decoder) fresh(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	switch p := v.Addr().Interface().(type) {
	case *Config:
		*p = *builtin()
	case *Temporal:
		*p = builtin().Temporal
	case *HTTP:
		*p = builtin().HTTP
	case *Defaults:
		*p = builtin().Defaults
	case *Pool:
		*p = newPool(d.root.Defaults)
	case *Executors:
		*p = Executors{Exec: newExec()}
	case *ExecExecutor:
		*p = newExec()
	case *HTTPExecutor:
		*p = newHTTPExecutor()
	case *Webhook:
		*p = newWebhook()
	case *Lot:
		*p = newLot()
	case *Row:
		*p = Row{Kind: SpotRegular}
	}
	return v
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = deref(n)
	switch v.Type() {
	case durationType:
		d.duration(n, v, path)
		return
	case perMilleType:
		d.perMille(n, v, path)
		return
	case timeOfDayType:
		d.timeOfDay(n, v, path)
		return
	case weekdayType:
		d.weekday(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Map:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.String:
		if d.scalar(n, path, "a text value") {
			if isNull(n) {
				v.SetString("")
			} else {
				v.SetString(n.Value)
			}
		}
	case reflect.Bool:
		var b bool
		if !d.scalar(n, path, "true or false") {
			return
		}
		if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.fail(n, path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		var i int64
		if !d.scalar(n, path, "a whole number") {
			return
		}
		if n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.fail(n, path, "expected a whole number, got %s", describe(n))
			return
		}
		v.SetInt(i)
	default:
		panic(fmt.Sprintf("config: no decoding for %s at %s", v.Type(), path))
	}
}

type field struct {
	name     string
	index    int
	required bool
}

func fields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if !f.IsExported() || name == "-" {
			continue
		}
		out = append(out, field{name: name, index: i, required: f.Tag.Get("config") == "required"})
	}
	return out
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	v.Set(d.fresh(v.Type()))
	if !isNull(n) && n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping of keys, got %s", describe(n))
		return
	}
	fs := fields(v.Type())
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	present := map[string]entry{}
	for _, e := range d.entries(n, path) {
		p := join(path, e.key)
		if !slices.Contains(names, e.key) {
			d.unknownKey(e.keyNode, p, e.key, names)
			continue
		}
		present[e.key] = e
		d.lines[p] = e.keyNode.Line
	}
	for _, f := range fs {
		p := join(path, f.name)
		e, ok := present[f.name]
		if !ok || isNull(deref(e.value)) {
			if f.required {
				where := n
				if ok {
					where = e.keyNode
				}
				d.fail(where, p, "missing; %s", requiredHint(p, f.name))
			}
			continue
		}
		d.decode(e.value, v.Field(f.index), p)
	}
}

func (d *decoder) unknownKey(k *yaml.Node, path, key string, valid []string) {
	if s := suggest(key, valid); s != "" {
		d.fail(k, path, "unknown key; did you mean %s?", s)
		return
	}
	d.fail(k, path, "unknown key; valid keys here are %s", strings.Join(valid, ", "))
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping of names, got %s", describe(n))
		return
	}
	entries := d.entries(n, path)
	m := reflect.MakeMapWithSize(v.Type(), len(entries))
	for _, e := range entries {
		p := join(path, e.key)
		d.lines[p] = e.keyNode.Line
		elem := d.fresh(v.Type().Elem())
		d.decode(e.value, elem, p)
		m.SetMapIndex(reflect.ValueOf(e.key).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "expected a list, got %s; write [a, b] or one \"- item\" per line", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		p := index(path, i)
		d.lines[p] = item.Line
		elem := d.fresh(v.Type().Elem())
		d.decode(item, elem, p)
		s = reflect.Append(s, elem)
	}
	v.Set(s)
}

type entry struct {
	key     string
	keyNode *yaml.Node
	value   *yaml.Node
}

// entries lists the keys of a mapping once each; YAML merge keys (<<: *anchor)
// contribute the keys the mapping does not set itself.
func (d *decoder) entries(n *yaml.Node, path string) []entry {
	if isNull(n) {
		return nil
	}
	var own, merged []entry
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "a key must be a plain name, got %s", describe(k))
			continue
		}
		if isMerge(k) {
			merged = append(merged, d.mergeEntries(val, path)...)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(k, join(path, k.Value), "duplicate key; it is already set at line %d, keep one", first)
			continue
		}
		seen[k.Value] = k.Line
		own = append(own, entry{k.Value, k, val})
	}
	for _, e := range merged {
		if _, ok := seen[e.key]; !ok {
			seen[e.key] = e.keyNode.Line
			own = append(own, e)
		}
	}
	return own
}

func (d *decoder) mergeEntries(n *yaml.Node, path string) []entry {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return d.entries(n, path)
	case yaml.SequenceNode:
		var out []entry
		for _, item := range n.Content {
			if item = deref(item); item.Kind != yaml.MappingNode {
				d.fail(item, path, "<< merges mappings only, got %s", describe(item))
				continue
			}
			out = append(out, d.entries(item, path)...)
		}
		return out
	}
	d.fail(n, path, "<< merges mappings only, got %s; write <<: *anchor", describe(n))
	return nil
}

func isMerge(k *yaml.Node) bool {
	return k.Value == "<<" && k.Style == 0 && (k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge")
}

func (d *decoder) scalar(n *yaml.Node, path, want string) bool {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "expected %s, got %s", want, describe(n))
		return false
	}
	return true
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	const fix = `write a Go duration such as "90s", "5m" or "1h30m"`
	if !d.scalar(n, path, "a duration") {
		return
	}
	if n.ShortTag() == "!!int" && n.Value == "0" {
		v.SetInt(0)
		return
	}
	if n.ShortTag() != "!!str" {
		d.fail(n, path, "%s is not a duration; a duration needs a unit: %s", describe(n), fix)
		return
	}
	dur, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		hint := fix
		if strings.HasSuffix(n.Value, "d") {
			hint += `; days are written in hours, e.g. "72h"`
		}
		d.fail(n, path, "cannot parse %q as a duration; %s", n.Value, hint)
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) perMille(n *yaml.Node, v reflect.Value, path string) {
	if !d.scalar(n, path, "a decimal number") {
		return
	}
	if tag := n.ShortTag(); tag != "!!int" && tag != "!!float" {
		d.fail(n, path, "expected a decimal number such as 1.5, got %s", describe(n))
		return
	}
	pm, err := parsePerMille(n.Value)
	if err != nil {
		d.fail(n, path, "%v", err)
		return
	}
	v.SetInt(int64(pm))
}

// parsePerMille reads a plain decimal exactly, without going through float64,
// so that 1.005 is 1005 and not 1004.
func parsePerMille(s string) (PerMille, error) {
	neg := false
	body := s
	if rest, ok := strings.CutPrefix(body, "-"); ok {
		neg, body = true, rest
	} else {
		body = strings.TrimPrefix(body, "+")
	}
	whole, frac, _ := strings.Cut(body, ".")
	frac = strings.TrimRight(frac, "0")
	if (whole == "" && frac == "") || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("cannot read %s as a decimal; write it plainly, e.g. 1.5", s)
	}
	if len(frac) > 3 {
		return 0, fmt.Errorf("%s has more than 3 decimals; round it to thousandths, e.g. 1.125", s)
	}
	if len(whole) > 12 {
		return 0, fmt.Errorf("%s is too large; multipliers are small decimals such as 1.5", s)
	}
	var n int64
	if whole != "" {
		n, _ = strconv.ParseInt(whole, 10, 64)
	}
	f, _ := strconv.ParseInt((frac + "000")[:3], 10, 64)
	pm := n*1000 + f
	if neg {
		pm = -pm
	}
	return PerMille(pm), nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (d *decoder) timeOfDay(n *yaml.Node, v reflect.Value, path string) {
	if !d.scalar(n, path, `a time of day such as "08:00"`) {
		return
	}
	t, ok := parseTimeOfDay(n.Value)
	if !ok || n.ShortTag() != "!!str" {
		d.fail(n, path, "cannot read %s as a time of day; write \"HH:MM\" on a 24-hour clock, e.g. \"08:00\" or \"24:00\"", describe(n))
		return
	}
	v.SetInt(int64(t))
}

func parseTimeOfDay(s string) (TimeOfDay, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !digits(h) || !digits(m) {
		return 0, false
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return TimeOfDay(hh*60 + mm), true
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func (d *decoder) weekday(n *yaml.Node, v reflect.Value, path string) {
	if !d.scalar(n, path, "a day") {
		return
	}
	name := strings.ToLower(n.Value)
	if day, ok := weekdays[name[:min(3, len(name))]]; ok && n.ShortTag() == "!!str" &&
		(len(name) == 3 || strings.EqualFold(day.String(), name)) {
		v.SetInt(int64(day))
		return
	}
	d.fail(n, path, "unknown day %s; use mon, tue, wed, thu, fri, sat or sun", describe(n))
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if isNull(n) {
		return "nothing"
	}
	return strconv.Quote(n.Value)
}

// jsonNode reads JSON into the node tree the decoder walks, keeping lines.
func jsonNode(data []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var newlines []int
	for i, b := range data {
		if b == '\n' {
			newlines = append(newlines, i)
		}
	}
	lineAt := func(off int64) int {
		n, _ := slices.BinarySearch(newlines, int(off))
		return n + 1
	}
	var read func() (*yaml.Node, error)
	read = func() (*yaml.Node, error) {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		n := &yaml.Node{Kind: yaml.ScalarNode, Line: lineAt(dec.InputOffset())}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' {
				n.Kind, n.Tag = yaml.MappingNode, "!!map"
			} else {
				n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
			}
			for dec.More() {
				if n.Kind == yaml.MappingNode {
					key, err := read()
					if err != nil {
						return nil, err
					}
					n.Content = append(n.Content, key)
				}
				val, err := read()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, val)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
		case string:
			n.Tag, n.Value, n.Style = "!!str", t, yaml.DoubleQuotedStyle
		case json.Number:
			n.Tag, n.Value = "!!float", t.String()
			if _, err := t.Int64(); err == nil {
				n.Tag = "!!int"
			}
		case bool:
			n.Tag, n.Value = "!!bool", strconv.FormatBool(t)
		case nil:
			n.Tag, n.Value = "!!null", "null"
		}
		return n, nil
	}
	n, err := read()
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("unexpected data after the top-level value")
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(bytes.TrimSpace(data)) == 0 {
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1}, nil
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("unexpected end of input")
		}
		off := dec.InputOffset()
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			off = se.Offset
		}
		return nil, Problems{{Message: fmt.Sprintf("invalid JSON (line %d): %v; check commas, quotes and brackets", lineAt(off), err)}}
	}
	return n, nil
}

// suggest returns the option closest to word when it is close enough to be a
// likely typo, else "".
func suggest(word string, options []string) string {
	best, bestDist := "", -1
	for _, o := range options {
		dist := editDistance(strings.ToLower(word), strings.ToLower(o))
		if bestDist < 0 || dist < bestDist {
			best, bestDist = o, dist
		}
	}
	limit := max(1, min(3, len(word)/3))
	if bestDist >= 0 && bestDist <= limit {
		return best
	}
	return ""
}

// editDistance counts the edits (insert, delete, replace, swap of neighbours)
// from a to b; the swap keeps "paht" one typo away from "path".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
