//! Everything that crosses the C boundary goes through here: reading the
//! caller's pointers (checked for NULL and length before use), catching a
//! panic before it can unwind into C, and this thread's last error.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use crate::types::{
    PRIVCALL_ERR_BUFFER, PRIVCALL_ERR_INTERNAL, PRIVCALL_ERR_INVALID, PRIVCALL_ERR_NULL,
    PRIVCALL_MAX_FIELD_BYTES, PRIVCALL_MAX_PATH_BYTES,
};

/// An error to hand to C: its result code and its message.
#[derive(Debug)]
pub struct Failure {
    /// One of the `PRIVCALL_ERR_*` codes.
    pub code: i32,
    /// What went wrong, naming the field or file (never a dialed number).
    pub message: String,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: i32, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

thread_local! {
    /// This thread's last error message, for `privcall_last_error`.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` as this thread's last error.
pub fn set_last_error(message: &str) {
    // A message never holds a NUL in practice; if one did, it is cut there.
    let text = message.split('\0').next().unwrap_or_default();
    let c = CString::new(text).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// Copies this thread's last error into `buf` (cut to `cap - 1` bytes and
/// NUL-terminated when `cap > 0`); returns its full length.
pub fn last_error_into(buf: *mut c_char, cap: usize) -> usize {
    LAST_ERROR.with(|e| {
        let e = e.borrow();
        let bytes = e.as_bytes();
        if !buf.is_null() && cap > 0 {
            let n = bytes.len().min(cap - 1);
            #[expect(unsafe_code, reason = "the caller gives `cap` writable bytes at `buf`")]
            // SAFETY: `buf` is non-null and the caller guarantees `cap`
            // writable bytes; `n + 1 <= cap`.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), buf, n);
                *buf.add(n) = 0;
            }
        }
        bytes.len()
    })
}

/// Runs `f` for a C entry point: a panic is caught and becomes
/// `PRIVCALL_ERR_INTERNAL`, a [`Failure`] becomes its code; both leave
/// their message as this thread's last error.
pub fn guard(f: impl FnOnce() -> Result<(), Failure>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => 0,
        Ok(Err(failure)) => {
            set_last_error(&failure.message);
            failure.code
        }
        Err(panic) => {
            set_last_error(&format!("internal error: {}", panic_text(&*panic)));
            PRIVCALL_ERR_INTERNAL
        }
    }
}

/// The text of a panic's payload.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

/// A shared reference from a C pointer, or a NULL failure naming `what`.
pub fn reference<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Failure> {
    #[expect(unsafe_code, reason = "C hands a pointer to a live, aligned T or NULL")]
    // SAFETY: the caller's contract (the header): the pointer is NULL or
    // points to a valid `T` that outlives the call.
    let r = unsafe { ptr.as_ref() };
    r.ok_or_else(|| Failure::new(PRIVCALL_ERR_NULL, format!("{what} is NULL")))
}

/// A mutable reference from a C pointer, or a NULL failure naming `what`.
pub fn output<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    #[expect(
        unsafe_code,
        reason = "C hands a pointer to writable, aligned T or NULL"
    )]
    // SAFETY: as `reference`, and the memory is the caller's to write.
    let r = unsafe { ptr.as_mut() };
    r.ok_or_else(|| Failure::new(PRIVCALL_ERR_NULL, format!("{what} is NULL")))
}

/// `len` bytes at `ptr`, checked: NULL only with length 0, at most
/// `max` bytes.
pub fn bytes<'a>(
    ptr: *const c_char,
    len: usize,
    max: usize,
    what: &str,
) -> Result<&'a [u8], Failure> {
    if len > max {
        return Err(Failure::new(
            PRIVCALL_ERR_INVALID,
            format!("{what}: {len} bytes, more than the limit of {max}"),
        ));
    }
    array(ptr.cast::<u8>(), len, what)
}

/// `len` elements at `ptr` (NULL only with `len` 0).
pub fn array<'a, T>(ptr: *const T, len: usize, what: &str) -> Result<&'a [T], Failure> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::new(PRIVCALL_ERR_NULL, format!("{what} is NULL")))
        };
    }
    #[expect(unsafe_code, reason = "C hands `len` readable elements at `ptr`")]
    // SAFETY: `ptr` is non-null, aligned, and the caller guarantees `len`
    // initialized elements that outlive the call.
    let s = unsafe { std::slice::from_raw_parts(ptr, len) };
    Ok(s)
}

/// A call field as text: (pointer, length), at most
/// `PRIVCALL_MAX_FIELD_BYTES`, invalid UTF-8 replaced (it then decides
/// as what it is: not a number, an unknown facility).
pub fn field<'a>(ptr: *const c_char, len: usize, what: &str) -> Result<Cow<'a, str>, Failure> {
    let bytes = bytes(ptr, len, PRIVCALL_MAX_FIELD_BYTES, what)?;
    // Facility codes, inmate ids and dialed strings are ASCII in practice:
    // one vectorized check instead of UTF-8 decoding byte by byte.
    if bytes.is_ascii() {
        #[expect(unsafe_code, reason = "ASCII was checked just above")]
        // SAFETY: every byte is ASCII, so the bytes are valid UTF-8.
        let text = unsafe { std::str::from_utf8_unchecked(bytes) };
        return Ok(Cow::Borrowed(text));
    }
    Ok(String::from_utf8_lossy(bytes))
}

/// An optional NUL-terminated UTF-8 path (`NULL`: `None`), read at most
/// [`PRIVCALL_MAX_PATH_BYTES`] bytes far.
pub fn path(ptr: *const c_char, what: &str) -> Result<Option<PathBuf>, Failure> {
    text(ptr, what).map(|t| t.map(PathBuf::from))
}

/// An optional NUL-terminated UTF-8 string (`NULL`: `None`), read at most
/// [`PRIVCALL_MAX_PATH_BYTES`] bytes far: a string with no NUL in that range is
/// refused rather than read past.
pub fn text(ptr: *const c_char, what: &str) -> Result<Option<String>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    let mut len = 0;
    loop {
        if len > PRIVCALL_MAX_PATH_BYTES {
            return Err(Failure::new(
                PRIVCALL_ERR_INVALID,
                format!("{what}: no NUL within {PRIVCALL_MAX_PATH_BYTES} bytes"),
            ));
        }
        #[expect(unsafe_code, reason = "C hands a NUL-terminated string")]
        // SAFETY: the caller guarantees a NUL-terminated string; reading
        // stops at its NUL, which comes at or before the bytes read so far.
        let byte = unsafe { *ptr.add(len) };
        if byte == 0 {
            break;
        }
        len += 1;
    }
    #[expect(unsafe_code, reason = "the NUL was found at `len` just above")]
    // SAFETY: `ptr..=ptr+len` is readable and ends in the NUL found above.
    let c = unsafe { CStr::from_ptr(ptr) };
    c.to_str()
        .map(|s| Some(s.to_owned()))
        .map_err(|_| Failure::new(PRIVCALL_ERR_INVALID, format!("{what} is not UTF-8")))
}

/// Writes `text` and a NUL into the caller's buffer of `cap` bytes, and
/// its length into `len_out`; a buffer too small gets nothing but the
/// length it needs.
pub fn write_text(
    text: &str,
    buf: *mut c_char,
    cap: usize,
    len_out: *mut usize,
) -> Result<(), Failure> {
    let len_out = output(len_out, "len_out")?;
    *len_out = text.len();
    if text.len() >= cap {
        return Err(Failure::new(
            PRIVCALL_ERR_BUFFER,
            format!(
                "the buffer holds {cap} bytes; {} are needed",
                text.len() + 1
            ),
        ));
    }
    if buf.is_null() {
        return Err(Failure::new(PRIVCALL_ERR_NULL, "buf is NULL"));
    }
    #[expect(unsafe_code, reason = "the caller gives `cap` writable bytes at `buf`")]
    // SAFETY: `buf` is non-null with `cap > text.len()` writable bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr().cast::<c_char>(), buf, text.len());
        *buf.add(text.len()) = 0;
    }
    Ok(())
}
