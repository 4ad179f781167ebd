//! Minimal SSZ (de)serialisation helpers for the ssv-dkg containers: little-endian uints, 4-byte
//! offsets for variable fields, variable parts in field order. Decoding is strict like fastssz
//! v0.1.4: the first offset must equal the fixed size, offsets never decrease or overrun, and every
//! list respects its maximum length (a hostile peer cannot make us allocate beyond it).

/// Why bytes are not a valid SSZ container (what fastssz v0.1.4 refuses too).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SszError {
    /// Fewer bytes than the container's fixed part.
    #[error("{container}: {got} bytes is shorter than its fixed part ({fixed} bytes)")]
    TooShort {
        /// The container.
        container: &'static str,
        /// Its fixed part in bytes.
        fixed: usize,
        /// Bytes given.
        got: usize,
    },
    /// An offset that is not the fixed size (first) or goes backwards or past the end.
    #[error("{container}: invalid offset {offset} (expected {expected})")]
    BadOffset {
        /// The container.
        container: &'static str,
        /// The offending offset.
        offset: usize,
        /// What it had to be.
        expected: String,
    },
    /// A list longer than its SSZ limit.
    #[error("{container}.{field}: length {got} exceeds the maximum {max}")]
    TooLong {
        /// The container.
        container: &'static str,
        /// The field.
        field: &'static str,
        /// Its limit.
        max: usize,
        /// Its length.
        got: usize,
    },
    /// A fixed-size field or container of another size.
    #[error("{container}.{field}: expected {expected} bytes, got {got}")]
    WrongLength {
        /// The container.
        container: &'static str,
        /// The field (`<whole>` for the container).
        field: &'static str,
        /// Bytes it has.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// A bool byte other than 0 or 1: (the byte, the container).
    #[error("{container}: invalid bool byte {0:#04x}", container = .1)]
    BadBool(u8, &'static str),
}

/// Encodes one container: fixed fields in order, with offsets for variable fields.
#[derive(Debug)]
pub(crate) struct Encoder {
    fixed: Vec<u8>,
    var: Vec<u8>,
    fixed_size: usize,
}

impl Encoder {
    pub(crate) fn new(fixed_size: usize) -> Self {
        Self {
            fixed: Vec::with_capacity(fixed_size),
            var: Vec::new(),
            fixed_size,
        }
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.fixed.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn bool(&mut self, v: bool) -> &mut Self {
        self.fixed.push(u8::from(v));
        self
    }
    pub(crate) fn fixed(&mut self, bytes: &[u8]) -> &mut Self {
        self.fixed.extend_from_slice(bytes);
        self
    }
    /// A variable-size field given as its already-encoded bytes.
    pub(crate) fn var(&mut self, encoded: &[u8]) -> &mut Self {
        let off = (self.fixed_size + self.var.len()) as u32;
        self.fixed.extend_from_slice(&off.to_le_bytes());
        self.var.extend_from_slice(encoded);
        self
    }
    pub(crate) fn finish(mut self) -> Vec<u8> {
        debug_assert_eq!(self.fixed.len(), self.fixed_size);
        self.fixed.append(&mut self.var);
        self.fixed
    }
}

/// Encodes a list of variable-size elements: an offset table then the elements.
pub(crate) fn encode_var_list(items: &[Vec<u8>]) -> Vec<u8> {
    let table = 4 * items.len();
    let total: usize = table + items.iter().map(Vec::len).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    let mut off = table;
    for it in items {
        out.extend_from_slice(&(off as u32).to_le_bytes());
        off += it.len();
    }
    for it in items {
        out.extend_from_slice(it);
    }
    out
}

/// Decodes one container. Read fixed fields in order, then call `finish` to get the variable parts.
#[derive(Debug)]
pub(crate) struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    fixed_size: usize,
    offsets: Vec<usize>,
    name: &'static str,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(
        name: &'static str,
        buf: &'a [u8],
        fixed_size: usize,
    ) -> Result<Self, SszError> {
        if buf.len() < fixed_size {
            return Err(SszError::TooShort {
                container: name,
                fixed: fixed_size,
                got: buf.len(),
            });
        }
        Ok(Decoder {
            buf,
            pos: 0,
            fixed_size,
            offsets: Vec::new(),
            name,
        })
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        // Bounds hold: the constructor checked buf.len() >= fixed_size and callers read exactly
        // the fixed layout; `get` keeps this panic-free even if a layout constant were wrong.
        let s = self.buf.get(self.pos..self.pos + n).unwrap_or(&[]);
        self.pos += n;
        s
    }
    pub(crate) fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        let s = self.take(8);
        if s.len() == 8 {
            b.copy_from_slice(s);
        }
        u64::from_le_bytes(b)
    }
    pub(crate) fn bool(&mut self) -> Result<bool, SszError> {
        match self.take(1) {
            [0] => Ok(false),
            [1] => Ok(true),
            [b] => Err(SszError::BadBool(*b, self.name)),
            _ => Err(SszError::TooShort {
                container: self.name,
                fixed: self.fixed_size,
                got: 0,
            }),
        }
    }
    pub(crate) fn fixed<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let s = self.take(N);
        if s.len() == N {
            out.copy_from_slice(s);
        }
        out
    }
    pub(crate) fn offset(&mut self) {
        let mut b = [0u8; 4];
        let s = self.take(4);
        if s.len() == 4 {
            b.copy_from_slice(s);
        }
        self.offsets.push(u32::from_le_bytes(b) as usize);
    }
    /// Validates offsets and returns the variable parts in field order.
    pub(crate) fn finish(self) -> Result<Vec<&'a [u8]>, SszError> {
        let name = self.name;
        if self.offsets.is_empty() {
            if self.buf.len() != self.fixed_size {
                return Err(SszError::WrongLength {
                    container: name,
                    field: "<whole>",
                    expected: self.fixed_size,
                    got: self.buf.len(),
                });
            }
            return Ok(Vec::new());
        }
        if self.offsets[0] != self.fixed_size {
            return Err(SszError::BadOffset {
                container: name,
                offset: self.offsets[0],
                expected: format!("first offset = fixed size {}", self.fixed_size),
            });
        }
        let mut parts = Vec::with_capacity(self.offsets.len());
        for (i, start) in self.offsets.iter().enumerate() {
            let end = self.offsets.get(i + 1).copied().unwrap_or(self.buf.len());
            if end < *start || end > self.buf.len() {
                return Err(SszError::BadOffset {
                    container: name,
                    offset: end,
                    expected: format!("between {start} and {}", self.buf.len()),
                });
            }
            parts.push(&self.buf[*start..end]);
        }
        Ok(parts)
    }
}

/// Checks a byte list's maximum length and returns it owned.
pub(crate) fn byte_list(
    container: &'static str,
    field: &'static str,
    b: &[u8],
    max: usize,
) -> Result<Vec<u8>, SszError> {
    if b.len() > max {
        return Err(SszError::TooLong {
            container,
            field,
            max,
            got: b.len(),
        });
    }
    Ok(b.to_vec())
}

/// Splits a list of variable-size elements into the element slices.
pub(crate) fn decode_var_list<'a>(
    container: &'static str,
    field: &'static str,
    b: &'a [u8],
    max: usize,
) -> Result<Vec<&'a [u8]>, SszError> {
    if b.is_empty() {
        return Ok(Vec::new());
    }
    let bad = |offset: usize, expected: String| SszError::BadOffset {
        container,
        offset,
        expected,
    };
    if b.len() < 4 {
        return Err(bad(b.len(), "an offset table".into()));
    }
    let first = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if !first.is_multiple_of(4) || first == 0 || first > b.len() {
        return Err(bad(first, "a multiple of 4 within the list".into()));
    }
    let count = first / 4;
    if count > max {
        return Err(SszError::TooLong {
            container,
            field,
            max,
            got: count,
        });
    }
    let mut offs = Vec::with_capacity(count);
    for i in 0..count {
        let p = 4 * i;
        offs.push(u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]) as usize);
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let start = offs[i];
        let end = offs.get(i + 1).copied().unwrap_or(b.len());
        if start > end || end > b.len() {
            return Err(bad(end, format!("between {start} and {}", b.len())));
        }
        out.push(&b[start..end]);
    }
    Ok(out)
}

pub(crate) fn fixed_array<const N: usize>(
    container: &'static str,
    field: &'static str,
    b: &[u8],
) -> Result<[u8; N], SszError> {
    b.try_into().map_err(|_| SszError::WrongLength {
        container,
        field,
        expected: N,
        got: b.len(),
    })
}
