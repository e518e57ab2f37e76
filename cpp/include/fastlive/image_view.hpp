// Non-owning views over image memory: pointer, height, width, row stride in bytes.
// Pixels within a row are contiguous (channels interleaved); rows may be strided (ROIs, crops).
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace fastlive {

template <typename T>
struct ImageView {
    T* data = nullptr;
    int height = 0;
    int width = 0;
    int channels = 1;
    std::ptrdiff_t stride = 0;  // bytes between the starts of two consecutive rows

    T* row(int y) const {
        return reinterpret_cast<T*>(reinterpret_cast<
            typename std::conditional<std::is_const<T>::value, const std::uint8_t, std::uint8_t>::type*>(data) +
            static_cast<std::ptrdiff_t>(y) * stride);
    }
};

using ConstGray = ImageView<const std::uint8_t>;   // channels == 1
using ConstImage = ImageView<const std::uint8_t>;  // channels == 1, 3 or 4
using MutGray = ImageView<std::uint8_t>;

}  // namespace fastlive
