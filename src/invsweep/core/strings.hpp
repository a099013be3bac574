#pragma once
// Small text helpers shared by the parsers: splitting lists and "did you mean" suggestions.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace invsweep {

/// Splits on `sep`, trimming spaces and tabs around each part; empty input gives no parts.
std::vector<std::string> split_list(std::string_view text, char sep = ',');
std::string_view trim(std::string_view s);
/// Joins with ", ".
std::string join(std::span<const std::string> parts, std::string_view sep = ", ");
/// A byte count for people: "52.4 KiB", "3.1 GiB".
std::string human_bytes(double bytes);
/// Edit distance (insertions, deletions, substitutions), case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);
/// " (did you mean 'x'?)" for the closest candidate within a small distance, else "".
std::string did_you_mean(std::string_view name, std::span<const std::string> candidates);
std::string did_you_mean(std::string_view name, std::span<const std::string_view> candidates);

}  // namespace invsweep
