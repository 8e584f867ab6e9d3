package storage

import (
	"bytes"
	"container/heap"
	"errors"
)

// multiIterator merges sub-iterators into one ascending sequence. The heap
// holds the indices of the sub-iterators that are on a key, ordered by that
// key and then by index, so equal keys come out in sub-iterator order; the
// current element is the sub-iterator at the top of the heap.
type multiIterator struct {
	iters   []Iterator
	heap    iterHeap
	started bool
}

// NewMultiIterator returns an iterator over the union of iters in global key
// order, such as the partitions of a table. Keys present in several
// sub-iterators are returned once per sub-iterator, in the order of iters;
// nothing is deduplicated. The merged iterator takes ownership of iters:
// Release releases all of them.
func NewMultiIterator(iters []Iterator) Iterator {
	m := &multiIterator{iters: iters}
	m.heap.iters = iters
	return m
}

// Next moves to the next key of the merged sequence.
func (m *multiIterator) Next() bool {
	if !m.started {
		m.started = true
		m.refill(func(it Iterator) bool { return it.Next() })
		return m.heap.Len() > 0
	}
	if m.heap.Len() == 0 {
		return false
	}
	if m.iters[m.heap.idx[0]].Next() {
		heap.Fix(&m.heap, 0)
	} else {
		heap.Pop(&m.heap)
	}
	return m.heap.Len() > 0
}

// refill repositions every sub-iterator with move and rebuilds the heap from
// the ones that are on a key.
func (m *multiIterator) refill(move func(Iterator) bool) {
	m.heap.idx = m.heap.idx[:0]
	for i, it := range m.iters {
		if move(it) {
			m.heap.idx = append(m.heap.idx, i)
		}
	}
	heap.Init(&m.heap)
}

// Err joins the errors of all sub-iterators.
func (m *multiIterator) Err() error {
	var errs []error
	for _, it := range m.iters {
		if err := it.Err(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Key returns the current key of the sub-iterator at the top.
func (m *multiIterator) Key() []byte {
	if m.heap.Len() == 0 {
		return nil
	}
	return m.iters[m.heap.idx[0]].Key()
}

// Value returns the current value of the sub-iterator at the top.
func (m *multiIterator) Value() ([]byte, error) {
	if m.heap.Len() == 0 {
		return nil, nil
	}
	return m.iters[m.heap.idx[0]].Value()
}

// Release releases every sub-iterator.
func (m *multiIterator) Release() {
	for _, it := range m.iters {
		it.Release()
	}
	m.heap.idx = m.heap.idx[:0]
	m.started = true
}

// Seek seeks every sub-iterator to key; the merged iterator is then on the
// smallest key found, without a call to Next.
func (m *multiIterator) Seek(key []byte) bool {
	m.started = true
	m.refill(func(it Iterator) bool { return it.Seek(key) })
	return m.heap.Len() > 0
}

// iterHeap implements heap.Interface over sub-iterator indices.
type iterHeap struct {
	iters []Iterator
	idx   []int
}

func (h *iterHeap) Len() int { return len(h.idx) }

func (h *iterHeap) Less(a, b int) bool {
	ia, ib := h.idx[a], h.idx[b]
	if c := bytes.Compare(h.iters[ia].Key(), h.iters[ib].Key()); c != 0 {
		return c < 0
	}
	return ia < ib
}

func (h *iterHeap) Swap(a, b int) { h.idx[a], h.idx[b] = h.idx[b], h.idx[a] }

func (h *iterHeap) Push(x any) { h.idx = append(h.idx, x.(int)) }

func (h *iterHeap) Pop() any {
	last := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return last
}
