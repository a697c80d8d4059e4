//! The hand-written binary encoding of headers and events.
//!
//! Rules (all encodings are canonical: decoding then re-encoding a value
//! reproduces the input bytes exactly):
//!
//! * unsigned integers: LEB128 varints, at most 10 bytes, minimal length;
//! * signed integers: zigzag, then varint;
//! * `u8` and `bool`: one raw byte (`bool` must be 0 or 1);
//! * byte strings and strings: varint length, then the bytes (strings must be
//!   UTF-8); at most [`MAX_BYTES_LEN`] bytes;
//! * fixed-size arrays: the raw bytes; `regs_digest`: 8 bytes little-endian
//!   (a hash is uniformly random, so a varint would only make it longer);
//! * `Option<T>`: a tag byte 0 (`None`) or 1 (`Some`) then the value;
//! * sequences: varint element count, then the elements;
//! * events: kind byte ([`crate::kind`]), varint body length, body.
//!
//! The [`Decoder`] checks every length against the input that is left before
//! allocating anything, so hostile input cannot make it allocate much more
//! than the input's own size.

use crate::event::*;
use thiserror::Error;

/// Largest byte string (or string) the decoder accepts: 256 MiB.
pub const MAX_BYTES_LEN: usize = 256 << 20;

/// Longest LEB128 encoding of a `u64`.
pub const MAX_VARINT_LEN: usize = 10;

/// Elements of a sequence decoded before checking they actually exist: the
/// count is already bounded by the input left, but an element may be much
/// larger in memory than its smallest encoding.
const MAX_PREALLOC: usize = 1024;

/// A value with a wire encoding.
pub trait Wire: Sized {
    /// Appends the encoding of `self`.
    fn encode(&self, enc: &mut Encoder);
    /// Decodes one value, consuming exactly its encoding.
    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError>;

    /// The encoding of `self` as a new vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut enc = Encoder::new();
        self.encode(&mut enc);
        enc.into_bytes()
    }

    /// Decodes a value that must span all of `bytes`.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut dec = Decoder::new(bytes);
        let value = Self::decode(&mut dec)?;
        dec.finish()?;
        Ok(value)
    }
}

/// Appends encoded values to a byte vector.
#[derive(Debug, Clone, Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// An empty encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes encoded so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The encoded bytes, consuming the encoder.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Number of bytes encoded so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was encoded yet.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Forgets the encoded bytes, keeping the allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Appends raw bytes with no length prefix.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// One raw byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// A boolean as one byte, 0 or 1.
    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    /// An unsigned LEB128 varint.
    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            // Truncation is the point: keep the low 7 bits, set continuation.
            self.buf.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    /// A `u32` as a varint.
    pub fn u32(&mut self, v: u32) {
        self.varint(u64::from(v));
    }

    /// An `i64` as a zigzag varint.
    pub fn i64(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }

    /// An `i32` as a zigzag varint (same encoding as the equal `i64`).
    pub fn i32(&mut self, v: i32) {
        self.i64(i64::from(v));
    }

    /// A `u64` as 8 raw little-endian bytes.
    pub fn fixed_u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// A byte string: varint length, then the bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        self.varint(v.len() as u64);
        self.buf.extend_from_slice(v);
    }

    /// A UTF-8 string, encoded like a byte string.
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }

    /// A fixed-size array, raw.
    pub fn array<const N: usize>(&mut self, v: &[u8; N]) {
        self.buf.extend_from_slice(v);
    }

    /// An optional value: tag byte 0, or tag byte 1 then the value.
    pub fn option<T>(&mut self, v: Option<&T>, f: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.u8(0),
            Some(x) => {
                self.u8(1);
                f(self, x);
            }
        }
    }

    /// A sequence: varint element count, then each element.
    pub fn seq<T>(&mut self, items: &[T], mut f: impl FnMut(&mut Self, &T)) {
        self.varint(items.len() as u64);
        for item in items {
            f(self, item);
        }
    }

    /// Any [`Wire`] value.
    pub fn put<T: Wire>(&mut self, v: &T) {
        v.encode(self);
    }
}

/// What went wrong while decoding.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeErrorKind {
    /// The input ends before the value does.
    #[error("input ends early: {needed} bytes needed, {remaining} left")]
    UnexpectedEnd {
        /// Bytes the value needs.
        needed: u64,
        /// Bytes left in the input.
        remaining: usize,
    },
    /// A varint has more than 10 bytes.
    #[error("varint longer than 10 bytes")]
    VarintTooLong,
    /// A varint's value does not fit in 64 bits.
    #[error("varint overflows 64 bits")]
    VarintOverflow,
    /// A varint is longer than needed (trailing zero groups).
    #[error("non-canonical varint (padded with zero groups)")]
    NonCanonicalVarint,
    /// A value that has a shorter canonical encoding (named here).
    #[error("non-canonical encoding: {0}")]
    NonCanonical(&'static str),
    /// A number does not fit its field.
    #[error("{what} value {value} out of range")]
    OutOfRange {
        /// The field's type.
        what: &'static str,
        /// The decoded value (zigzag-decoded for signed fields).
        value: i128,
    },
    /// A bool or option tag is neither 0 nor 1.
    #[error("invalid {what} tag {tag} (expected 0 or 1)")]
    BadTag {
        /// "bool" or "option".
        what: &'static str,
        /// The byte found.
        tag: u8,
    },
    /// A byte string is longer than [`MAX_BYTES_LEN`].
    #[error("byte string of {len} bytes exceeds the {max}-byte cap")]
    TooLong {
        /// The declared length.
        len: u64,
        /// The cap.
        max: usize,
    },
    /// A sequence declares more elements than the input could hold.
    #[error("sequence of {count} elements cannot fit in the {remaining} bytes left")]
    CountTooLarge {
        /// The declared count.
        count: u64,
        /// Bytes left in the input.
        remaining: usize,
    },
    /// A string is not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// An event kind byte this version does not know.
    #[error("unknown event kind {0}")]
    UnknownKind(u8),
    /// A value was decoded but bytes are left over in its frame.
    #[error("{0} unexpected trailing bytes")]
    TrailingBytes(usize),
}

/// A decoding failure and where it happened.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at byte {offset}: {kind}")]
pub struct DecodeError {
    /// Offset of the offending value, counted from the start of the
    /// outermost input (see [`Decoder::with_base`]).
    pub offset: usize,
    /// What went wrong.
    pub kind: DecodeErrorKind,
}

/// A bounds-checked cursor over encoded bytes.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    /// Offset of `data[0]` in the outermost input, so that errors from nested
    /// decoders (event bodies) point into the chunk, not into the body.
    base: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder over `data`, reporting offsets from its start.
    pub fn new(data: &'a [u8]) -> Self {
        Self::with_base(data, 0)
    }

    /// A decoder over `data`, which starts at offset `base` of a larger input.
    pub fn with_base(data: &'a [u8], base: usize) -> Self {
        Decoder { data, pos: 0, base }
    }

    /// Offset of the next byte, in the outermost input.
    pub fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// Bytes not consumed yet.
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// Whether all input was consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// An error of `kind` at offset `at` (an offset within `data`).
    fn err_at(&self, at: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            offset: self.base.saturating_add(at),
            kind,
        }
    }

    /// Succeeds only if all input was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.err_at(self.pos, DecodeErrorKind::TrailingBytes(n))),
        }
    }

    /// The next `n` bytes, borrowed from the input.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let slice = self
            .pos
            .checked_add(n)
            .and_then(|end| self.data.get(self.pos..end))
            .ok_or_else(|| {
                self.err_at(
                    self.pos,
                    DecodeErrorKind::UnexpectedEnd {
                        needed: n as u64,
                        remaining: self.remaining(),
                    },
                )
            })?;
        self.pos += n; // cannot overflow: pos + n was checked above
        Ok(slice)
    }

    /// One raw byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    /// A boolean byte, which must be 0 or 1.
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        self.tag("bool")
    }

    /// A 0/1 tag byte.
    fn tag(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        let at = self.pos;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(self.err_at(at, DecodeErrorKind::BadTag { what, tag })),
        }
    }

    /// An unsigned LEB128 varint (at most 10 bytes, minimal length).
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        // Most varints are one byte (lengths, tids, small numbers).
        if let Some(&byte) = self.data.get(self.pos) {
            if byte < 0x80 {
                self.pos += 1;
                return Ok(u64::from(byte));
            }
        }
        let start = self.pos;
        let mut value: u64 = 0;
        for i in 0..MAX_VARINT_LEN {
            let byte = self.u8()?;
            if i == MAX_VARINT_LEN - 1 && byte > 1 {
                // The 10th byte holds only bit 63; anything more either
                // continues past 10 bytes or overflows.
                let kind = if byte & 0x80 != 0 {
                    DecodeErrorKind::VarintTooLong
                } else {
                    DecodeErrorKind::VarintOverflow
                };
                return Err(self.err_at(start, kind));
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                if byte == 0 && i > 0 {
                    return Err(self.err_at(start, DecodeErrorKind::NonCanonicalVarint));
                }
                return Ok(value);
            }
        }
        // Unreachable in practice (the 10th byte check returns first), but
        // keep a real error rather than a panic.
        Err(self.err_at(start, DecodeErrorKind::VarintTooLong))
    }

    /// A varint that must fit in a `u32`.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let at = self.pos;
        let v = self.varint()?;
        u32::try_from(v).map_err(|_| {
            self.err_at(
                at,
                DecodeErrorKind::OutOfRange {
                    what: "u32",
                    value: i128::from(v),
                },
            )
        })
    }

    /// A varint that must fit in a `usize`.
    fn usize(&mut self) -> Result<(usize, u64), DecodeError> {
        let at = self.pos;
        let v = self.varint()?;
        let n = usize::try_from(v).map_err(|_| {
            self.err_at(
                at,
                DecodeErrorKind::OutOfRange {
                    what: "length",
                    value: i128::from(v),
                },
            )
        })?;
        Ok((n, v))
    }

    /// A zigzag varint `i64`.
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        let z = self.varint()?;
        Ok((z >> 1) as i64 ^ -((z & 1) as i64))
    }

    /// A zigzag varint that must fit in an `i32`.
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        let at = self.pos;
        let v = self.i64()?;
        i32::try_from(v).map_err(|_| {
            self.err_at(
                at,
                DecodeErrorKind::OutOfRange {
                    what: "i32",
                    value: i128::from(v),
                },
            )
        })
    }

    /// 8 raw little-endian bytes.
    pub fn fixed_u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A byte string, borrowed from the input.
    pub fn bytes_ref(&mut self) -> Result<&'a [u8], DecodeError> {
        let at = self.pos;
        let (len, raw) = self.usize()?;
        if len > MAX_BYTES_LEN {
            return Err(self.err_at(
                at,
                DecodeErrorKind::TooLong {
                    len: raw,
                    max: MAX_BYTES_LEN,
                },
            ));
        }
        self.take(len)
    }

    /// A byte string, copied. The length is checked against the input left
    /// before anything is allocated.
    pub fn bytes(&mut self) -> Result<Vec<u8>, DecodeError> {
        self.bytes_ref().map(<[u8]>::to_vec)
    }

    /// A UTF-8 string.
    pub fn string(&mut self) -> Result<String, DecodeError> {
        let at = self.pos;
        let bytes = self.bytes_ref()?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| self.err_at(at, DecodeErrorKind::InvalidUtf8))
    }

    /// A fixed-size array, raw.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// An optional value: tag byte 0/1, then the value when 1.
    pub fn option<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        if self.tag("option")? {
            f(self).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A sequence whose elements each take at least `min_elem_len` (>= 1)
    /// encoded bytes; the count is checked against the input left.
    pub fn seq<T>(
        &mut self,
        min_elem_len: usize,
        mut f: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let at = self.pos;
        let (count, raw) = self.usize()?;
        let remaining = self.remaining();
        if count > remaining / min_elem_len.max(1) {
            return Err(self.err_at(
                at,
                DecodeErrorKind::CountTooLarge {
                    count: raw,
                    remaining,
                },
            ));
        }
        let mut out = Vec::with_capacity(count.min(MAX_PREALLOC));
        for _ in 0..count {
            out.push(f(self)?);
        }
        Ok(out)
    }

    /// Any [`Wire`] value.
    pub fn get<T: Wire>(&mut self) -> Result<T, DecodeError> {
        T::decode(self)
    }
}

impl Wire for Header {
    fn encode(&self, enc: &mut Encoder) {
        enc.str(&self.scribe_version);
        enc.str(&self.cpu_model);
        enc.str(&self.kernel_release);
        enc.bytes(&self.exe_path);
        enc.seq(&self.argv, |e, a| e.bytes(a));
        enc.seq(&self.env, |e, a| e.bytes(a));
        enc.bytes(&self.cwd);
        enc.u8(self.level);
        enc.bool(self.portable);
        enc.varint(self.start_time_ns);
        // A trailing field (format 11), written only when not 0 so that a
        // header without it re-encodes to the same bytes. Format 11 traces
        // wrote an explicit 0, which is still read (the one non-canonical
        // form accepted).
        // Then the stack limit (format 18), after the signals, which are
        // written even when 0 if the limit follows.
        if self.ignored_signals != 0 || self.stack_limit.is_some() {
            enc.varint(self.ignored_signals);
        }
        if let Some(limit) = self.stack_limit {
            enc.varint(limit);
        }
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Header {
            scribe_version: dec.string()?,
            cpu_model: dec.string()?,
            kernel_release: dec.string()?,
            exe_path: dec.bytes()?,
            argv: dec.seq(1, Decoder::bytes)?,
            env: dec.seq(1, Decoder::bytes)?,
            cwd: dec.bytes()?,
            level: dec.u8()?,
            portable: dec.bool()?,
            start_time_ns: dec.varint()?,
            // A trailing field, absent before format 11 and, from format
            // 12, when 0.
            ignored_signals: if dec.is_empty() { 0 } else { dec.varint()? },
            // Absent before format 18.
            stack_limit: if dec.is_empty() { None } else { Some(dec.varint()?) },
        })
    }
}

impl Wire for MemBytes {
    fn encode(&self, enc: &mut Encoder) {
        enc.varint(self.addr);
        enc.bytes(&self.bytes);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(MemBytes {
            addr: dec.varint()?,
            bytes: dec.bytes()?,
        })
    }
}

/// Smallest encoding of a [`MemBytes`]: two one-byte varints.
const MEM_BYTES_MIN_LEN: usize = 2;

impl Wire for FileRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.u32(self.id);
        enc.bytes(&self.path);
        enc.varint(self.size);
        enc.i64(self.mtime_ns);
        enc.array(&self.sha256);
        enc.option(self.contents.as_ref(), |e, c| e.bytes(c));
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(FileRecord {
            id: dec.u32()?,
            path: dec.bytes()?,
            size: dec.varint()?,
            mtime_ns: dec.i64()?,
            sha256: dec.array()?,
            contents: dec.option(Decoder::bytes)?,
        })
    }
}

impl Wire for ExecRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.i32(self.tid);
        enc.bytes(&self.exe_path);
        enc.varint(self.rsp);
        enc.bytes(&self.stack);
        enc.seq(&self.mapped_files, |e, id| e.u32(*id));
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(ExecRecord {
            tid: dec.i32()?,
            exe_path: dec.bytes()?,
            rsp: dec.varint()?,
            stack: dec.bytes()?,
            mapped_files: dec.seq(1, Decoder::u32)?,
        })
    }
}

impl Wire for SyscallRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.i32(self.tid);
        enc.u32(self.nr);
        for arg in &self.args {
            enc.varint(*arg);
        }
        enc.i64(self.result);
        enc.seq(&self.outputs, |e, m| m.encode(e));
        enc.seq(&self.inputs, |e, m| m.encode(e));
        enc.option(self.regs_digest.as_ref(), |e, d| e.fixed_u64(*d));
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let tid = dec.i32()?;
        let nr = dec.u32()?;
        let mut args = [0u64; 6];
        for arg in &mut args {
            *arg = dec.varint()?;
        }
        Ok(SyscallRecord {
            tid,
            nr,
            args,
            result: dec.i64()?,
            outputs: dec.seq(MEM_BYTES_MIN_LEN, MemBytes::decode)?,
            inputs: dec.seq(MEM_BYTES_MIN_LEN, MemBytes::decode)?,
            regs_digest: dec.option(Decoder::fixed_u64)?,
        })
    }
}

impl Wire for MapRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.i32(self.tid);
        enc.varint(self.addr);
        enc.varint(self.len);
        enc.u32(self.prot);
        enc.u32(self.flags);
        enc.varint(self.offset);
        enc.option(self.file_id.as_ref(), |e, id| e.u32(*id));
        enc.option(self.data.as_ref(), |e, d| e.bytes(d));
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(MapRecord {
            tid: dec.i32()?,
            addr: dec.varint()?,
            len: dec.varint()?,
            prot: dec.u32()?,
            flags: dec.u32()?,
            offset: dec.varint()?,
            file_id: dec.option(Decoder::u32)?,
            data: dec.option(Decoder::bytes)?,
        })
    }
}

impl Wire for RdtscRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.i32(self.tid);
        enc.varint(self.rip);
        enc.varint(self.tsc);
        enc.option(self.aux.as_ref(), |e, a| e.u32(*a));
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(RdtscRecord {
            tid: dec.i32()?,
            rip: dec.varint()?,
            tsc: dec.varint()?,
            aux: dec.option(Decoder::u32)?,
        })
    }
}

impl Wire for RandomRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.i32(self.tid);
        enc.varint(self.rip);
        enc.varint(self.value);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(RandomRecord { tid: dec.i32()?, rip: dec.varint()?, value: dec.varint()? })
    }
}

impl Wire for SignalRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.i32(self.tid);
        enc.i32(self.signo);
        enc.u8(self.origin);
        enc.varint(self.rip);
        enc.bytes(&self.siginfo);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(SignalRecord {
            tid: dec.i32()?,
            signo: dec.i32()?,
            origin: dec.u8()?,
            rip: dec.varint()?,
            siginfo: dec.bytes()?,
        })
    }
}

impl Wire for ExitRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.i32(self.tid);
        enc.i32(self.code);
        enc.i32(self.signal);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(ExitRecord {
            tid: dec.i32()?,
            code: dec.i32()?,
            signal: dec.i32()?,
        })
    }
}

impl Wire for RegsRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.i32(self.tid);
        enc.seq(&self.regs, |e, r| e.varint(*r));
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(RegsRecord {
            tid: dec.i32()?,
            regs: dec.seq(1, Decoder::varint)?,
        })
    }
}

impl Wire for ResourceRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.i32(self.tid);
        enc.u8(self.kind);
        enc.varint(self.id);
        enc.varint(self.serial);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(ResourceRecord {
            tid: dec.i32()?,
            kind: dec.u8()?,
            id: dec.varint()?,
            serial: dec.varint()?,
        })
    }
}

impl Wire for TaskStartRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.i32(self.tid);
        enc.i32(self.parent);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(TaskStartRecord {
            tid: dec.i32()?,
            parent: dec.i32()?,
        })
    }
}

impl Wire for JoinRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.i32(self.tid);
        enc.i32(self.domain);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(JoinRecord {
            tid: dec.i32()?,
            domain: dec.i32()?,
        })
    }
}

/// The exact state is a trailing field added in format version 3, written
/// as nothing when empty (as the bookmark digests are); the stack digest
/// (format 22) follows it, only after a state.
impl Wire for PreemptRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.i32(self.tid);
        enc.varint(self.rip);
        enc.fixed_u64(self.fingerprint);
        if !self.state.is_empty() {
            enc.seq(&self.state, |e, w| e.fixed_u64(*w));
            if let Some(stack) = self.stack {
                enc.varint(u64::from(stack.len));
                enc.fixed_u64(stack.digest);
            }
        }
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let tid = dec.i32()?;
        let rip = dec.varint()?;
        let fingerprint = dec.fixed_u64()?;
        let at = dec.pos;
        let state = if dec.is_empty() { Vec::new() } else { dec.seq(8, |d| d.fixed_u64())? };
        if state.is_empty() && dec.pos > at {
            return Err(dec.err_at(at, DecodeErrorKind::NonCanonical("empty preemption state")));
        }
        let stack = if dec.is_empty() {
            None
        } else {
            let at = dec.pos;
            let len = u32::try_from(dec.varint()?)
                .ok()
                .filter(|&len| len > 0)
                .ok_or_else(|| dec.err_at(at, DecodeErrorKind::NonCanonical("stack digest length")))?;
            Some(StackDigest { len, digest: dec.fixed_u64()? })
        };
        Ok(PreemptRecord { tid, rip, fingerprint, state, stack })
    }
}

impl Wire for StateDigest {
    fn encode(&self, enc: &mut Encoder) {
        enc.i32(self.pid);
        enc.fixed_u64(self.memory);
        enc.fixed_u64(self.registers);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(StateDigest {
            pid: dec.i32()?,
            memory: dec.fixed_u64()?,
            registers: dec.fixed_u64()?,
        })
    }
}

/// Smallest encoding of a [`StateDigest`]: a one-byte pid and two hashes.
const STATE_DIGEST_MIN_LEN: usize = 17;

/// The digests are a trailing field added in format version 2: a body that
/// ends after `tid` (every version 1 bookmark) has none. To keep the
/// encoding canonical, an empty list is written as nothing, so an explicit
/// count of 0 is rejected.
impl Wire for BookmarkRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.u32(self.id);
        enc.i32(self.tid);
        if !self.digests.is_empty() {
            enc.seq(&self.digests, |e, d| d.encode(e));
        }
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let id = dec.u32()?;
        let tid = dec.i32()?;
        let at = dec.pos;
        let digests = if dec.is_empty() { Vec::new() } else { dec.seq(STATE_DIGEST_MIN_LEN, StateDigest::decode)? };
        if digests.is_empty() && dec.pos > at {
            return Err(dec.err_at(at, DecodeErrorKind::NonCanonical("empty digest list")));
        }
        Ok(BookmarkRecord { id, tid, digests })
    }
}

impl Wire for EndRecord {
    fn encode(&self, enc: &mut Encoder) {
        enc.u8(self.reason);
        enc.str(&self.message);
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(EndRecord {
            reason: dec.u8()?,
            message: dec.string()?,
        })
    }
}

/// Encodes `body` after a varint of its length. One byte is kept for the
/// length before the body is written, which is all most bodies need (under
/// 128 bytes); a longer body is moved once to make room for the rest. (It
/// used to be written first and a separately built prefix inserted: an
/// allocation and a move for every event the recorder writes.)
fn framed(enc: &mut Encoder, body: impl FnOnce(&mut Encoder)) {
    let at = enc.buf.len();
    enc.buf.push(0);
    body(enc);
    let len = (enc.buf.len() - at - 1) as u64;
    if len < 0x80 {
        enc.buf[at] = len as u8;
        return;
    }
    let mut prefix = Encoder { buf: Vec::with_capacity(MAX_VARINT_LEN) };
    prefix.varint(len);
    enc.buf.splice(at..at + 1, prefix.buf);
}

/// An event is framed as `kind byte | varint body length | body`, so that a
/// reader could skip a kind it does not know (this version rejects them).
impl Wire for Event {
    fn encode(&self, enc: &mut Encoder) {
        enc.u8(self.kind());
        framed(enc, |enc| match self {
            Event::File(r) => r.encode(enc),
            Event::Exec(r) => r.encode(enc),
            Event::Syscall(r) => r.encode(enc),
            Event::MapFile(r) => r.encode(enc),
            Event::Rdtsc(r) => r.encode(enc),
            Event::Signal(r) => r.encode(enc),
            Event::Exit(r) => r.encode(enc),
            Event::Regs(r) => r.encode(enc),
            Event::Resource(r) => r.encode(enc),
            Event::Bookmark(r) => r.encode(enc),
            Event::TaskStart(r) => r.encode(enc),
            Event::Preempt(r) => r.encode(enc),
            Event::Buffered(r) => r.encode(enc),
            Event::Join(r) => r.encode(enc),
            Event::Random(r) => r.encode(enc),
            Event::End(r) => r.encode(enc),
        });
    }

    fn decode(dec: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let kind_at = dec.pos;
        let kind_byte = dec.u8()?;
        let body = dec.bytes_ref()?;
        // The body is decoded on its own so that it cannot run into the next
        // event, and so that leftover bytes inside it are caught.
        let mut b = Decoder::with_base(body, dec.offset().saturating_sub(body.len()));
        let event = match kind_byte {
            kind::FILE => Event::File(b.get()?),
            kind::EXEC => Event::Exec(b.get()?),
            kind::SYSCALL => Event::Syscall(b.get()?),
            kind::MAP_FILE => Event::MapFile(b.get()?),
            kind::RDTSC => Event::Rdtsc(b.get()?),
            kind::SIGNAL => Event::Signal(b.get()?),
            kind::EXIT => Event::Exit(b.get()?),
            kind::REGS => Event::Regs(b.get()?),
            kind::RESOURCE => Event::Resource(b.get()?),
            kind::BOOKMARK => Event::Bookmark(b.get()?),
            kind::TASK_START => Event::TaskStart(b.get()?),
            kind::PREEMPT => Event::Preempt(b.get()?),
            kind::BUFFERED => Event::Buffered(b.get()?),
            kind::JOIN => Event::Join(b.get()?),
            kind::RANDOM => Event::Random(b.get()?),
            kind::END => Event::End(b.get()?),
            other => return Err(dec.err_at(kind_at, DecodeErrorKind::UnknownKind(other))),
        };
        b.finish()?;
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint_bytes(v: u64) -> Vec<u8> {
        let mut e = Encoder::new();
        e.varint(v);
        e.into_bytes()
    }

    /// A header with no ignored signals ends without the mask, so it
    /// re-encodes to the same bytes (the fuzzer found a format 11 one that
    /// did not), and a format 11 header's explicit 0 still reads.
    #[test]
    fn header_without_ignored_signals_leaves_the_mask_out() {
        let plain = Header { argv: vec![b"true".to_vec()], ..Default::default() };
        let bytes = plain.to_bytes();
        assert_eq!(Header::from_bytes(&bytes).unwrap(), plain);
        let mut format_11 = bytes.clone();
        format_11.push(0);
        assert_eq!(Header::from_bytes(&format_11).unwrap(), plain);
        let ignoring = Header { ignored_signals: 1 << 1, ..plain.clone() };
        let with_mask = ignoring.to_bytes();
        assert_eq!(with_mask.len(), bytes.len() + 1);
        assert_eq!(Header::from_bytes(&with_mask).unwrap(), ignoring);
        // The stack limit follows the mask, which is then written even as 0.
        let limited = Header { stack_limit: Some(u64::MAX), ..plain.clone() };
        let with_limit = limited.to_bytes();
        assert_eq!(with_limit.len(), bytes.len() + 1 + 10);
        assert_eq!(Header::from_bytes(&with_limit).unwrap(), limited);
        let both = Header { stack_limit: Some(8 << 20), ..ignoring };
        assert_eq!(Header::from_bytes(&both.to_bytes()).unwrap(), both);
    }

    #[test]
    fn varint_known_encodings() {
        assert_eq!(varint_bytes(0), [0]);
        assert_eq!(varint_bytes(127), [0x7f]);
        assert_eq!(varint_bytes(128), [0x80, 0x01]);
        assert_eq!(varint_bytes(300), [0xac, 0x02]);
        assert_eq!(varint_bytes(u64::MAX).len(), 10);
        assert_eq!(*varint_bytes(u64::MAX).last().unwrap(), 1);
    }

    #[test]
    fn varint_round_trip_edges() {
        for v in [
            0,
            1,
            127,
            128,
            16383,
            16384,
            u32::MAX as u64,
            u64::MAX - 1,
            u64::MAX,
        ] {
            let bytes = varint_bytes(v);
            let mut d = Decoder::new(&bytes);
            assert_eq!(d.varint().unwrap(), v);
            d.finish().unwrap();
        }
        for shift in 0..64 {
            let v = 1u64 << shift;
            let bytes = varint_bytes(v);
            assert_eq!(Decoder::new(&bytes).varint().unwrap(), v);
        }
    }

    #[test]
    fn varint_rejects_bad_forms() {
        let kind = |b: &[u8]| Decoder::new(b).varint().unwrap_err().kind;
        assert_eq!(kind(&[0xff; 11]), DecodeErrorKind::VarintTooLong);
        let mut overflow = vec![0xff; 9];
        overflow.push(0x02);
        assert_eq!(kind(&overflow), DecodeErrorKind::VarintOverflow);
        assert_eq!(kind(&[0x80, 0x00]), DecodeErrorKind::NonCanonicalVarint);
        assert!(matches!(
            kind(&[0x80]),
            DecodeErrorKind::UnexpectedEnd { .. }
        ));
        assert!(matches!(kind(&[]), DecodeErrorKind::UnexpectedEnd { .. }));
    }

    #[test]
    fn zigzag_round_trip() {
        for v in [
            0i64,
            -1,
            1,
            -2,
            2,
            i64::MIN,
            i64::MAX,
            i32::MIN as i64,
            i32::MAX as i64,
        ] {
            let mut e = Encoder::new();
            e.i64(v);
            assert_eq!(Decoder::new(e.as_bytes()).i64().unwrap(), v);
        }
        let mut e = Encoder::new();
        e.i32(-1);
        assert_eq!(e.as_bytes(), [1]);
        let mut e = Encoder::new();
        e.i64(i64::from(i32::MAX) + 1);
        assert!(matches!(
            Decoder::new(e.as_bytes()).i32().unwrap_err().kind,
            DecodeErrorKind::OutOfRange { what: "i32", .. }
        ));
    }

    #[test]
    fn lengths_checked_before_allocation() {
        // Claims a 200 MiB byte string with 1 byte of input: must fail
        // without trying to allocate.
        let mut e = Encoder::new();
        e.varint(200 << 20);
        e.u8(0);
        assert!(matches!(
            Decoder::new(e.as_bytes()).bytes().unwrap_err().kind,
            DecodeErrorKind::UnexpectedEnd { .. }
        ));
        let mut e = Encoder::new();
        e.varint((MAX_BYTES_LEN + 1) as u64);
        assert!(matches!(
            Decoder::new(e.as_bytes()).bytes().unwrap_err().kind,
            DecodeErrorKind::TooLong { .. }
        ));
        let mut e = Encoder::new();
        e.varint(u64::MAX);
        assert!(matches!(
            Decoder::new(e.as_bytes())
                .seq(1, Decoder::u8)
                .unwrap_err()
                .kind,
            DecodeErrorKind::CountTooLarge { .. }
        ));
    }

    #[test]
    fn tags_must_be_zero_or_one() {
        assert!(matches!(
            Decoder::new(&[2]).bool().unwrap_err().kind,
            DecodeErrorKind::BadTag {
                what: "bool",
                tag: 2
            }
        ));
        assert!(matches!(
            Decoder::new(&[7]).option(Decoder::u8).unwrap_err().kind,
            DecodeErrorKind::BadTag {
                what: "option",
                tag: 7
            }
        ));
    }

    #[test]
    fn event_lengths_of_one_and_more_varint_bytes_round_trip() {
        // Bodies just under and over 128 bytes (one and two length bytes)
        // and far over (three): the length is canonical and what follows.
        for data_len in [0usize, 60, 61, 62, 63, 200, 20_000] {
            let call = SyscallRecord { tid: 7, nr: 0, result: 3, outputs: vec![MemBytes { addr: 0x1000, bytes: vec![0xab; data_len] }], ..Default::default() };
            let event = Event::Syscall(call);
            let mut e = Encoder::new();
            event.encode(&mut e);
            let bytes = e.into_bytes();
            let mut d = Decoder::new(&bytes[1..]);
            let body_len = d.varint().unwrap() as usize;
            assert_eq!(1 + d.pos + body_len, bytes.len(), "data of {data_len} bytes");
            assert_eq!(Event::from_bytes(&bytes).unwrap(), event, "data of {data_len} bytes");
        }
    }

    #[test]
    fn event_errors_point_into_the_outer_input() {
        // An Exit event whose tid is an overlong varint, preceded by 5 bytes.
        let mut input = vec![0u8; 5];
        input.extend_from_slice(&[kind::EXIT, 4, 0x80, 0x00, 0, 0]);
        let mut d = Decoder::new(&input);
        d.take(5).unwrap();
        let err = Event::decode(&mut d).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::NonCanonicalVarint);
        assert_eq!(err.offset, 7);

        let input = [99u8, 0];
        let err = Event::from_bytes(&input).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::UnknownKind(99));
        assert_eq!(err.offset, 0);

        // Trailing byte inside an End body.
        let input = [kind::END, 3, 0, 0, 9];
        let err = Event::from_bytes(&input).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::TrailingBytes(1));
        assert_eq!(err.offset, 4);
    }
}
