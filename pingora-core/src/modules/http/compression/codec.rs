//! The three codecs (gzip, brotli, zstd), each way, behind one streaming type: a piece of
//! input goes in and everything the codec can emit for it comes out at once (a flush per
//! piece), so a streamed body is never held back until its end.

use std::io::Write;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pingora_error::{Error, ErrorType, OrErr, Result};

use super::Algorithm;

/// Brotli window: 2^19 = 512 KiB, the usual web-server default; larger windows cost memory
/// per request for little gain on web content.
const BROTLI_WINDOW_BITS: u32 = 19;
/// Brotli's internal buffer between the encoder and our output.
const BROTLI_BUFFER: usize = 4096;
/// Highest zstd level used: 20–22 ("ultra") need windows far too large for a proxy.
pub(crate) const ZSTD_MAX_LEVEL: u32 = 19;

/// Whether a codec encodes or decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Compress,
    Decompress,
}

/// The codec state itself, writing into a buffer we drain after each piece.
enum Coder {
    GzipEncoder(flate2::write::GzEncoder<Vec<u8>>),
    BrotliEncoder(Box<brotli::CompressorWriter<Vec<u8>>>),
    ZstdEncoder(zstd::stream::write::Encoder<'static, Vec<u8>>),
    GzipDecoder(flate2::write::MultiGzDecoder<Vec<u8>>),
    BrotliDecoder(Box<brotli::DecompressorWriter<Vec<u8>>>),
    ZstdDecoder(zstd::stream::write::Decoder<'static, Vec<u8>>),
}

impl Coder {
    fn new(algorithm: Algorithm, direction: Direction, level: u32) -> std::io::Result<Self> {
        let out = Vec::new();
        Ok(match (algorithm, direction) {
            (Algorithm::Gzip, Direction::Compress) => Coder::GzipEncoder(
                flate2::write::GzEncoder::new(out, flate2::Compression::new(level.clamp(1, 9))),
            ),
            (Algorithm::Brotli, Direction::Compress) => {
                Coder::BrotliEncoder(Box::new(brotli::CompressorWriter::new(
                    out,
                    BROTLI_BUFFER,
                    level.clamp(1, 11),
                    BROTLI_WINDOW_BITS,
                )))
            }
            (Algorithm::Zstd, Direction::Compress) => {
                // The clamp keeps the level within i32.
                let level = level.clamp(1, ZSTD_MAX_LEVEL) as i32;
                Coder::ZstdEncoder(zstd::stream::write::Encoder::new(out, level)?)
            }
            (Algorithm::Gzip, Direction::Decompress) => {
                Coder::GzipDecoder(flate2::write::MultiGzDecoder::new(out))
            }
            (Algorithm::Brotli, Direction::Decompress) => Coder::BrotliDecoder(Box::new(
                brotli::DecompressorWriter::new(out, BROTLI_BUFFER),
            )),
            (Algorithm::Zstd, Direction::Decompress) => {
                Coder::ZstdDecoder(zstd::stream::write::Decoder::new(out)?)
            }
            (Algorithm::Any | Algorithm::Other, _) => {
                return Err(std::io::Error::other("not a concrete coding"))
            }
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Coder::GzipEncoder(w) => w,
            Coder::BrotliEncoder(w) => w.as_mut(),
            Coder::ZstdEncoder(w) => w,
            Coder::GzipDecoder(w) => w,
            Coder::BrotliDecoder(w) => w.as_mut(),
            Coder::ZstdDecoder(w) => w,
        }
    }

    /// Feeds `input` and flushes what the codec can emit for it into the output buffer.
    fn feed(&mut self, input: &[u8]) -> std::io::Result<()> {
        self.writer().write_all(input)?;
        self.writer().flush()?;
        if let Coder::BrotliDecoder(w) = self {
            // The brotli decoder stops once the input is used up even when its ring buffer
            // still holds decoded bytes; an empty write hands them out. Stop when one yields
            // nothing more.
            loop {
                let before = w.get_ref().len();
                // Nothing is consumed from an empty write, so the count is always 0.
                let _consumed = w.write(&[])?;
                if w.get_ref().len() == before {
                    break;
                }
            }
        }
        Ok(())
    }

    fn output(&mut self) -> &mut Vec<u8> {
        match self {
            Coder::GzipEncoder(w) => w.get_mut(),
            Coder::BrotliEncoder(w) => w.get_mut(),
            Coder::ZstdEncoder(w) => w.get_mut(),
            Coder::GzipDecoder(w) => w.get_mut(),
            Coder::BrotliDecoder(w) => w.get_mut(),
            Coder::ZstdDecoder(w) => w.get_mut(),
        }
    }

    /// Ends the stream; returns the last output. Decoders fail on a truncated stream.
    fn finish(self) -> std::io::Result<Vec<u8>> {
        let truncated = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "truncated");
        match self {
            Coder::GzipEncoder(w) => w.finish(),
            Coder::BrotliEncoder(w) => Ok(w.into_inner()),
            Coder::ZstdEncoder(w) => w.finish(),
            Coder::GzipDecoder(w) => w.finish(),
            Coder::BrotliDecoder(w) => w.into_inner().map_err(|_| truncated()),
            Coder::ZstdDecoder(w) => w.finish(),
        }
    }
}

/// One response body's codec and what it did: bytes in, bytes out, time spent.
pub(crate) struct Codec {
    algorithm: Algorithm,
    direction: Direction,
    /// `None` once finished.
    coder: Option<Coder>,
    bytes_in: usize,
    bytes_out: usize,
    duration: Duration,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("algorithm", &self.algorithm)
            .field("direction", &self.direction)
            .field("finished", &self.coder.is_none())
            .field("bytes_in", &self.bytes_in)
            .field("bytes_out", &self.bytes_out)
            .field("duration", &self.duration)
            .finish()
    }
}

impl Codec {
    /// A codec for `algorithm` (a concrete one: gzip, brotli or zstd) at `level` (clamped to
    /// the codec's range; unused when decoding).
    pub(crate) fn new(algorithm: Algorithm, direction: Direction, level: u32) -> Result<Self> {
        let coder = Coder::new(algorithm, direction, level)
            .or_err_with(ErrorType::InternalError, || {
                format!("setting up {} {direction:?}", algorithm.as_str())
            })?;
        Ok(Codec {
            algorithm,
            direction,
            coder: Some(coder),
            bytes_in: 0,
            bytes_out: 0,
            duration: Duration::ZERO,
        })
    }

    /// Feeds one piece and returns all output the codec can produce for it so far (for an
    /// encoder: a flushed block the client can decode at once).
    ///
    /// Fails after [`finish`](Self::finish), and when a decoder meets invalid data.
    pub(crate) fn transform(&mut self, input: &[u8]) -> Result<Bytes> {
        let started = Instant::now();
        let Some(coder) = self.coder.as_mut() else {
            return Error::e_explain(ErrorType::InternalError, "body after the codec finished");
        };
        let written = coder.feed(input);
        let out = Bytes::from(std::mem::take(coder.output()));
        self.account(input.len(), out.len(), started);
        written.or_err_with(ErrorType::InternalError, || self.failure())?;
        Ok(out)
    }

    /// Ends the stream and returns its last bytes (for an encoder, the trailer of the
    /// format). A second call returns nothing. Fails when a decoder's input was truncated.
    pub(crate) fn finish(&mut self) -> Result<Bytes> {
        let started = Instant::now();
        let Some(coder) = self.coder.take() else {
            return Ok(Bytes::new());
        };
        let out = coder
            .finish()
            .or_err_with(ErrorType::InternalError, || self.failure())?;
        self.account(0, out.len(), started);
        Ok(Bytes::from(out))
    }

    /// Whether [`finish`](Self::finish) ran.
    pub(crate) fn is_finished(&self) -> bool {
        self.coder.is_none()
    }

    /// The codec's name (`gzip`, `br`, `zstd`; `de-` before it when decoding), bytes in,
    /// bytes out, and time spent in the codec.
    pub(crate) fn info(&self) -> (&'static str, usize, usize, Duration) {
        let name = match (self.direction, self.algorithm) {
            (Direction::Compress, algorithm) => algorithm.as_str(),
            (Direction::Decompress, Algorithm::Gzip) => "de-gzip",
            (Direction::Decompress, Algorithm::Brotli) => "de-br",
            (Direction::Decompress, Algorithm::Zstd) => "de-zstd",
            (Direction::Decompress, algorithm) => algorithm.as_str(),
        };
        (name, self.bytes_in, self.bytes_out, self.duration)
    }

    fn account(&mut self, bytes_in: usize, bytes_out: usize, started: Instant) {
        self.bytes_in += bytes_in;
        self.bytes_out += bytes_out;
        self.duration += started.elapsed();
    }

    fn failure(&self) -> String {
        let verb = match self.direction {
            Direction::Compress => "compressing",
            Direction::Decompress => "decompressing",
        };
        format!("{verb} the response body with {}", self.algorithm.as_str())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Read;

    use super::*;

    /// Text-like data: repetitive enough to compress, varied enough not to vanish.
    pub(crate) fn sample(len: usize) -> Vec<u8> {
        let words = [
            "proxy ", "header ", "body ", "stream ", "gzip ", "brotli ", "zstd\n",
        ];
        let mut data = Vec::with_capacity(len);
        let mut i = 0usize;
        while data.len() < len {
            data.extend_from_slice(words[(i * 7 + i / 3) % words.len()].as_bytes());
            data.extend_from_slice(i.to_string().as_bytes());
            i += 1;
        }
        data.truncate(len);
        data
    }

    pub(crate) fn decode(algorithm: Algorithm, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match algorithm {
            Algorithm::Gzip => {
                flate2::read::GzDecoder::new(data)
                    .read_to_end(&mut out)
                    .expect("valid gzip");
            }
            Algorithm::Brotli => {
                brotli::Decompressor::new(data, 4096)
                    .read_to_end(&mut out)
                    .expect("valid brotli");
            }
            Algorithm::Zstd => {
                out = zstd::stream::decode_all(data).expect("valid zstd");
            }
            _ => unreachable!("tests decode concrete codings only"),
        }
        out
    }

    pub(crate) fn encode(algorithm: Algorithm, data: &[u8]) -> Vec<u8> {
        let mut codec = Codec::new(algorithm, Direction::Compress, 6).expect("codec");
        let mut out = codec.transform(data).expect("compress").to_vec();
        out.extend_from_slice(&codec.finish().expect("finish"));
        out
    }

    const CONCRETE: [Algorithm; 3] = [Algorithm::Gzip, Algorithm::Brotli, Algorithm::Zstd];

    #[test]
    fn each_codec_round_trips_streamed_pieces() {
        let data = sample(200_000);
        for algorithm in CONCRETE {
            let mut codec = Codec::new(algorithm, Direction::Compress, 6).expect("codec");
            let mut encoded = Vec::new();
            for piece in data.chunks(16 * 1024) {
                encoded.extend_from_slice(&codec.transform(piece).expect("compress"));
            }
            encoded.extend_from_slice(&codec.finish().expect("finish"));
            assert!(codec.is_finished());
            assert_eq!(decode(algorithm, &encoded), data, "{algorithm:?}");
            let (name, bytes_in, bytes_out, _) = codec.info();
            assert_eq!(name, algorithm.as_str());
            assert_eq!(bytes_in, data.len());
            assert_eq!(bytes_out, encoded.len());
            assert!(
                bytes_out < bytes_in / 3,
                "{algorithm:?} compressed to {bytes_out}"
            );
        }
    }

    #[test]
    fn each_piece_is_flushed_so_the_client_can_decode_it_at_once() {
        let data = sample(10_000);
        for algorithm in CONCRETE {
            let mut codec = Codec::new(algorithm, Direction::Compress, 6).expect("codec");
            let first = codec.transform(&data).expect("compress");
            assert!(!first.is_empty(), "{algorithm:?} held the piece back");
            // What came out so far decodes to the whole piece, before the stream ends.
            let mut decoder = Codec::new(algorithm, Direction::Decompress, 0).expect("codec");
            let decoded = decoder.transform(&first).expect("decode");
            assert_eq!(decoded.len(), data.len(), "{algorithm:?}");
            assert_eq!(decoded, data, "{algorithm:?}");
        }
    }

    #[test]
    fn each_decoder_round_trips_streamed_pieces() {
        let data = sample(100_000);
        for algorithm in CONCRETE {
            let encoded = encode(algorithm, &data);
            let mut codec = Codec::new(algorithm, Direction::Decompress, 0).expect("codec");
            let mut decoded = Vec::new();
            for piece in encoded.chunks(1000) {
                decoded.extend_from_slice(&codec.transform(piece).expect("decode"));
            }
            decoded.extend_from_slice(&codec.finish().expect("finish"));
            assert_eq!(decoded, data, "{algorithm:?}");
            let (name, bytes_in, bytes_out, _) = codec.info();
            assert!(name.starts_with("de-"));
            assert_eq!((bytes_in, bytes_out), (encoded.len(), data.len()));
        }
    }

    #[test]
    fn decoders_reject_garbage_and_truncation() {
        let data = sample(50_000);
        for algorithm in CONCRETE {
            let mut garbage = Codec::new(algorithm, Direction::Decompress, 0).expect("codec");
            let bad = garbage
                .transform(b"this is not compressed data at all, not even close")
                .and_then(|_| garbage.finish());
            assert!(bad.is_err(), "{algorithm:?} accepted garbage");

            let encoded = encode(algorithm, &data);
            let mut cut = Codec::new(algorithm, Direction::Decompress, 0).expect("codec");
            let result = cut
                .transform(&encoded[..encoded.len() / 2])
                .and_then(|_| cut.finish());
            assert!(result.is_err(), "{algorithm:?} accepted a truncated stream");
        }
    }

    #[test]
    fn levels_outside_the_codec_range_are_clamped() {
        for algorithm in CONCRETE {
            for level in [1, 100] {
                let data = sample(1000);
                let mut codec = Codec::new(algorithm, Direction::Compress, level).expect("codec");
                let mut out = codec.transform(&data).expect("compress").to_vec();
                out.extend_from_slice(&codec.finish().expect("finish"));
                assert_eq!(decode(algorithm, &out), data);
            }
        }
    }

    #[test]
    fn body_after_finish_is_an_error_and_a_second_finish_is_empty() {
        let mut codec = Codec::new(Algorithm::Gzip, Direction::Compress, 1).expect("codec");
        codec.finish().expect("finish");
        assert!(codec.finish().expect("second finish").is_empty());
        assert!(codec.transform(b"late").is_err());
        assert!(Codec::new(Algorithm::Any, Direction::Compress, 1).is_err());
    }
}
