#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/model.hpp"
#include "engine/result.hpp"
#include "engine/time.hpp"
#include "storage/records.hpp"

// Compact, versioned binary encodings of every value herald stores. A value is
// one version byte, then its fields in declaration order: integers as LEB128
// varints (zigzag for signed ones, times as milliseconds since the epoch and
// dates as days since it), strings and lists as a varint length then the
// elements, enums as one byte, several bools or presence bits as one flags
// byte. Decoding checks every length and count against the bytes left, so
// garbage gives a decode_failure, never a crash or a large allocation.

namespace herald::storage {

/// Why a stored value does not decode.
enum class codec_error : uint8_t {
  /// The value ends inside a field (or a count promises more than is left).
  truncated,
  /// Written by another version of the encoding.
  unknown_version,
  /// A field holds what its type cannot: an overlong varint, an out-of-range
  /// number, an unknown enumerator or flag bit.
  bad_value,
  /// Bytes are left after the last field.
  trailing_bytes,
};

/// A code and a message naming the record and the field ("sequence record
/// truncated in steps[2].template.body").
struct decode_failure {
  codec_error code = codec_error::bad_value;
  std::string message;
};

template<class T>
using decoded = result<T, decode_failure>;

/// The version every record is written with and the only one this build reads.
inline constexpr uint8_t record_version = 1;

/// Appends the encoding of `x` to `out` (the hot path reuses one buffer).
void encode_to(std::string& out, const workspace& x);
void encode_to(std::string& out, const sender_account& x);
void encode_to(std::string& out, const sequence& x);
void encode_to(std::string& out, const lead& x);
/// A snapshot without history lines.
void encode_to(std::string& out, const enrollment& x);
/// A snapshot with `history` (each line's enrollment is `x`'s; at most
/// snapshot_history_limit of them).
void encode_to(std::string& out, const enrollment& x,
               std::span<const history_entry> history);
void encode_to(std::string& out, const history_entry& x);
void encode_to(std::string& out, const inbox_entry& x);
void encode_to(std::string& out, const do_not_contact& x);
void encode_to(std::string& out, const usage_counters& x);
void encode_to(std::string& out, const api_key& x);

/// The encoding of `x` in a new string.
std::string encode(const workspace& x);
std::string encode(const sender_account& x);
std::string encode(const sequence& x);
std::string encode(const lead& x);
std::string encode(const enrollment& x);
std::string encode(const enrollment_snapshot& x);
std::string encode(const history_entry& x);
std::string encode(const inbox_entry& x);
std::string encode(const do_not_contact& x);
std::string encode(const usage_counters& x);
std::string encode(const api_key& x);

/// The record encoded in exactly `bytes`; a decode_failure when it was written
/// by another version, ends early, holds a bad value or has bytes left over.
decoded<workspace> decode_workspace(std::string_view bytes);
decoded<sender_account> decode_sender_account(std::string_view bytes);
decoded<sequence> decode_sequence(std::string_view bytes);
decoded<lead> decode_lead(std::string_view bytes);
/// The state in a snapshot (its history lines checked and skipped).
decoded<enrollment> decode_enrollment(std::string_view bytes);
decoded<enrollment_snapshot> decode_snapshot(std::string_view bytes);
decoded<history_entry> decode_history_entry(std::string_view bytes);
decoded<inbox_entry> decode_inbox_entry(std::string_view bytes);
decoded<do_not_contact> decode_do_not_contact(std::string_view bytes);
decoded<usage_counters> decode_usage_counters(std::string_view bytes);
decoded<api_key> decode_api_key(std::string_view bytes);

/// A processed event id's value: when the event was received.
std::string encode_event_value(time_point received_at);
decoded<time_point> decode_event_value(std::string_view bytes);

} // namespace herald::storage

namespace herald {

template<>
struct enum_names<storage::codec_error> {
  static constexpr std::array<std::string_view, 4> values{
    "truncated", "unknown_version", "bad_value", "trailing_bytes"};
};

} // namespace herald
