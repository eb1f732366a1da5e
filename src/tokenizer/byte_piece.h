// Small text helpers shared by the tokenizer sources: byte pieces (<0xNN>) and UTF-8 decoding
// with exactly SentencePiece's rules (so invalid input is split the way the library splits it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace smoe {

// The byte a piece spelled "<0xNN>" (two upper-case hex digits, as SentencePiece writes them)
// stands for, or -1 for any other spelling.
inline int parse_byte_piece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  const int hi = hex(piece[3]), lo = hex(piece[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

inline std::string byte_piece_name(uint8_t byte) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string{'<', '0', 'x', kHex[byte >> 4], kHex[byte & 15], '>'};
}

namespace utf8 {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD
inline constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";      // U+2581, SentencePiece's space

// Length of the character a lead byte announces, from the lead byte alone (no validation), as
// SentencePiece's OneCharLen: continuation bytes count as 1, 0xF8..0xFF as 4.
inline size_t lead_length(uint8_t lead) {
  static constexpr uint8_t kLengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLengths[lead >> 4];
}

inline bool is_trail(uint8_t b) { return (b & 0xC0) == 0x80; }
inline bool is_valid_codepoint(uint32_t c) { return c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF); }

// Length of the valid UTF-8 character at the start of `s` (1..4), or 0 if it is malformed
// (overlong, surrogate, beyond U+10FFFF, bad or missing continuation bytes). Mirrors
// SentencePiece's DecodeUTF8; a malformed start is consumed by the library one byte at a time.
inline size_t valid_char_length(std::string_view s) {
  if (s.empty()) return 0;
  const auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t lead = b(0);
  if (lead < 0x80) return 1;
  if (s.size() >= 2 && (lead & 0xE0) == 0xC0) {
    const uint32_t cp = ((lead & 0x1Fu) << 6) | (b(1) & 0x3Fu);
    return is_trail(b(1)) && cp >= 0x80 && is_valid_codepoint(cp) ? 2 : 0;
  }
  if (s.size() >= 3 && (lead & 0xF0) == 0xE0) {
    const uint32_t cp = ((lead & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
    return is_trail(b(1)) && is_trail(b(2)) && cp >= 0x800 && is_valid_codepoint(cp) ? 3 : 0;
  }
  if (s.size() >= 4 && (lead & 0xF8) == 0xF0) {
    const uint32_t cp = ((lead & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) |
                        (b(3) & 0x3Fu);
    return is_trail(b(1)) && is_trail(b(2)) && is_trail(b(3)) && cp >= 0x10000 &&
                   is_valid_codepoint(cp)
               ? 4
               : 0;
  }
  return 0;
}

// Whether `s` (shorter than a whole character) could still become a valid character once more
// bytes arrive. Validity depends only on the lead byte and the first continuation byte, so it
// is enough to try every possible first continuation and pad the rest with 0x80.
inline bool could_complete(std::string_view s) {
  if (s.empty() || s.size() >= 4) return false;
  const uint8_t lead = static_cast<uint8_t>(s[0]);
  size_t need = 0;
  if ((lead & 0xE0) == 0xC0) need = 2;
  else if ((lead & 0xF0) == 0xE0) need = 3;
  else if ((lead & 0xF8) == 0xF0) need = 4;
  if (need <= s.size()) return false;
  std::string trial(s);
  if (trial.size() >= 2) {
    trial.resize(need, '\x80');
    return valid_char_length(trial) == need;
  }
  for (int second = 0x80; second <= 0xBF; ++second) {
    trial.assign(1, static_cast<char>(lead));
    trial.push_back(static_cast<char>(second));
    trial.resize(need, '\x80');
    if (valid_char_length(trial) == need) return true;
  }
  return false;
}

}  // namespace utf8
}  // namespace smoe
