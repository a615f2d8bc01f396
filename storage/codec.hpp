#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/model.hpp"
#include "engine/result.hpp"
#include "storage/records.hpp"

namespace herald::storage {

/// Why a stored value does not decode.
enum class codec_error : uint8_t {
  truncated,
  unknown_version,
  bad_value,
  trailing_bytes
};

struct decode_failure {
  codec_error code = codec_error::bad_value;
  /// Names the record and the field ("enrollment record truncated in due").
  std::string message;
};

template<class T>
using decoded = result<T, decode_failure>;

/// The version every record is written with; each value starts with it.
inline constexpr uint8_t record_version = 1;

// Compact, versioned encodings of everything herald stores: a version byte,
// then the fields as LEB128 varints (zigzag for signed ones and times), strings
// with their length, enums as one validated byte. Decoding checks every length
// and count against the bytes left, so garbage gives an error, never a crash or
// a large allocation. encode_to appends (the hot path reuses a buffer); encode
// returns a new string.

void encode_to(std::string& out, const workspace& x);
void encode_to(std::string& out, const sender_account& x);
void encode_to(std::string& out, const sequence& x);
void encode_to(std::string& out, const lead& x);
void encode_to(std::string& out, const enrollment& x);
void encode_to(std::string& out, const send_intent& x);
void encode_to(std::string& out, const history_entry& x);
void encode_to(std::string& out, const inbox_entry& x);
void encode_to(std::string& out, const do_not_contact& x);
void encode_to(std::string& out, const usage_counters& x);
void encode_to(std::string& out, const api_key& x);

template<class T>
std::string encode(const T& x) {
  std::string out;
  encode_to(out, x);
  return out;
}

decoded<workspace> decode_workspace(std::string_view bytes);
decoded<sender_account> decode_account(std::string_view bytes);
decoded<sequence> decode_sequence(std::string_view bytes);
decoded<lead> decode_lead(std::string_view bytes);
decoded<enrollment> decode_enrollment(std::string_view bytes);
decoded<send_intent> decode_send_intent(std::string_view bytes);
decoded<history_entry> decode_history_entry(std::string_view bytes);
decoded<inbox_entry> decode_inbox_entry(std::string_view bytes);
decoded<do_not_contact> decode_do_not_contact(std::string_view bytes);
decoded<usage_counters> decode_usage_counters(std::string_view bytes);
decoded<api_key> decode_api_key(std::string_view bytes);

/// The due index's value: the generation the timer was armed with.
std::string encode_due_value(uint32_t generation);
decoded<uint32_t> decode_due_value(std::string_view bytes);

/// A processed event id's value: when it was received.
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
