// The text form of schedules on the command line, shared by learning-rate and KL-weight schedules:
//
//   kind                      no arguments          "constant"
//   kind:value                one bare value         "monotonic:5000"
//   kind:key=value,key=value  named values           "cyclical:T=10000,M=4,R=0.5"
//   kind:value,key=value      both                   "step:1000,gamma=0.5"
//
// A bare value (first only) stands for the kind's first key. Every value is a finite number.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace trifecta::optim {

struct ScheduleText {
  std::string kind;
  std::string arguments;  // what follows the ':', empty when there is none
};

// Splits "kind:arguments".
ScheduleText split_schedule_text(const std::string& text);

// A key a schedule kind accepts, with its default; required keys have none.
struct ScheduleKey {
  std::string name;
  bool required = false;
  double default_value = 0.0;
  bool integer = false;  // step counts
};

// Reads the arguments of one kind: unknown, repeated or missing keys, bare values where names are needed,
// and text that is not a (finite, integer where asked) number are Errors naming `what` (e.g. "--kl-schedule")
// and the whole text. Returns a value for every key.
std::map<std::string, double> parse_schedule_arguments(const std::string& text, const ScheduleText& parts,
                                                       const std::vector<ScheduleKey>& keys, const char* what);

// Formats a number so parse_schedule_arguments reads back the same double.
std::string format_schedule_number(double value);

}  // namespace trifecta::optim
