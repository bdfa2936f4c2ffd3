//! An append-only column of numbers (`u32` unless said) in fixed-size
//! chunks: growing it never copies, and it never holds more than one chunk
//! beyond its length, where a `Vec` may hold twice its length while
//! doubling.

/// Entries per chunk.
const CHUNK: usize = 1 << 16;

/// A growable array of `T` stored in chunks of [`CHUNK`] entries.
#[derive(Debug, Clone)]
pub(crate) struct Column<T = u32> {
    chunks: Vec<Box<[T]>>,
    len: usize,
}

impl<T> Default for Column<T> {
    fn default() -> Self {
        Column {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Copy + Default> Column<T> {
    /// Number of entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Entry `i`.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> T {
        self.chunks[i / CHUNK][i % CHUNK]
    }

    /// Appends `v`.
    #[inline]
    pub(crate) fn push(&mut self, v: T) {
        if self.len == self.chunks.len() * CHUNK {
            self.chunks
                .push(vec![T::default(); CHUNK].into_boxed_slice());
        }
        self.chunks[self.len / CHUNK][self.len % CHUNK] = v;
        self.len += 1;
    }

    /// The entries, in runs of at most one chunk.
    #[cfg(test)]
    pub(crate) fn runs(&self) -> impl Iterator<Item = &[T]> {
        let len = self.len;
        self.chunks
            .iter()
            .enumerate()
            .map(move |(k, c)| &c[..(len - k * CHUNK).min(CHUNK)])
    }

    /// The entries, mutably, in runs of at most one chunk.
    pub(crate) fn runs_mut(&mut self) -> impl Iterator<Item = &mut [T]> {
        let len = self.len;
        self.chunks
            .iter_mut()
            .enumerate()
            .map(move |(k, c)| &mut c[..(len - k * CHUNK).min(CHUNK)])
    }

    /// Entries `from..to` (at most one chunk's worth is guaranteed contiguous:
    /// the run stops at a chunk boundary).
    #[inline]
    pub(crate) fn run(&self, from: usize, to: usize) -> &[T] {
        let c = &self.chunks[from / CHUNK];
        let start = from % CHUNK;
        &c[start..(start + to.min(self.len) - from).min(CHUNK)]
    }

    /// Bytes allocated.
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of::<T>() * CHUNK * self.chunks.len()
            + std::mem::size_of::<Box<[T]>>() * self.chunks.capacity()
    }

    /// Bytes allocated once `more` entries are pushed.
    pub(crate) fn heap_bytes_after(&self, more: usize) -> usize {
        let chunks = (self.len + more).div_ceil(CHUNK).max(self.chunks.len());
        std::mem::size_of::<T>() * CHUNK * chunks
            + std::mem::size_of::<Box<[T]>>() * chunks.next_power_of_two()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_across_chunks_and_reads_back() {
        let mut c: Column = Column::default();
        for i in 0..(2 * CHUNK + 5) as u32 {
            c.push(i * 3);
        }
        assert_eq!(c.len(), 2 * CHUNK + 5);
        assert_eq!(c.get(CHUNK + 1), (CHUNK as u32 + 1) * 3);
        let lens: Vec<usize> = c.runs().map(<[u32]>::len).collect();
        assert_eq!(lens, vec![CHUNK, CHUNK, 5]);
        assert_eq!(
            c.run(CHUNK - 2, CHUNK + 2),
            &[(CHUNK as u32 - 2) * 3, (CHUNK as u32 - 1) * 3]
        );
        for run in c.runs_mut() {
            run.iter_mut().for_each(|v| *v += 1);
        }
        assert_eq!(c.get(2 * CHUNK + 4), (2 * CHUNK as u32 + 4) * 3 + 1);
    }
}
