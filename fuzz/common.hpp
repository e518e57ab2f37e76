// Shared helpers for the libFuzzer harnesses in fuzz/.
//
// Input format (mirrored byte for byte by fuzz/fuzz_api.py's Reader, so every crash input can
// be replayed through the Python API in tests/test_fuzz_regressions.py): values are consumed
// from the front, little endian; once the input is exhausted every read returns 0. Pixel data
// is the rest of the input, repeated cyclically (all zeros when nothing is left).
//
// Images are allocated with exactly the bytes the view covers (no slack), so AddressSanitizer
// reports any read past the last pixel. Row strides are padded by 0..63 bytes and may be
// negative (bottom-up views), like numpy slices a[::-1].
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fastlive/dispatch.hpp"
#include "fastlive/image_view.hpp"

namespace fuzz {

class Reader {
public:
    Reader(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
    std::uint8_t u8() { return pos_ < n_ ? p_[pos_++] : 0; }
    std::uint16_t u16() {
        const std::uint16_t lo = u8();
        return static_cast<std::uint16_t>(lo | (u8() << 8));
    }
    double f64() {  // raw IEEE-754 bits: NaN, inf, subnormals, huge values all reachable
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(u8()) << (8 * i);
        double d;
        std::memcpy(&d, &v, sizeof d);
        return d;
    }
    // A "structured" real: mostly small fixed-point values, sometimes raw bits.
    double real(double scale) {
        const std::uint8_t mode = u8();
        if (mode < 224) return static_cast<std::int16_t>(u16()) / scale;
        return f64();
    }
    // Fills dst with the remaining bytes, cycled.
    void fill(std::uint8_t* dst, std::size_t len) {
        const std::size_t rest = pos_ < n_ ? n_ - pos_ : 0;
        if (rest == 0) {
            std::memset(dst, 0, len);
            return;
        }
        for (std::size_t i = 0; i < len; ++i) dst[i] = p_[pos_ + i % rest];
    }

private:
    const std::uint8_t* p_;
    std::size_t n_;
    std::size_t pos_ = 0;
};

// An image buffer of exactly the bytes its (possibly negative-stride) view covers.
struct OwnedImage {
    std::vector<std::uint8_t> buf;
    fastlive::ImageView<const std::uint8_t> view;
};

inline OwnedImage make_image(Reader& r, int h, int w, int c) {
    const int pad = r.u8() % 64;
    const bool flip = (r.u8() & 1) != 0;
    const std::ptrdiff_t row = static_cast<std::ptrdiff_t>(w) * c;
    const std::ptrdiff_t stride = row + pad;
    OwnedImage img;
    img.buf.resize(static_cast<std::size_t>((h - 1) * stride + row));
    r.fill(img.buf.data(), img.buf.size());
    img.view.height = h;
    img.view.width = w;
    img.view.channels = c;
    if (flip) {
        img.view.data = img.buf.data() + (h - 1) * stride;
        img.view.stride = -stride;
    } else {
        img.view.data = img.buf.data();
        img.view.stride = stride;
    }
    return img;
}

[[noreturn]] inline void fail(const char* what) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
}

inline void check(bool ok, const char* what) {
    if (!ok) fail(what);
}

// ISAs to compare against the scalar reference on this CPU.
inline std::vector<fastlive::Isa> isas() { return fastlive::supported_isas(); }

}  // namespace fuzz
