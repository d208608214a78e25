// One-line messages for people: text from a file made safe for a terminal, and the error line
// every program of edgevae prints ("PROGRAM: error: MESSAGE"), so that a file or a request cannot
// send escape sequences, break the line, or make a megabyte-long error.
#ifndef EDGEVAE_TOOLS_UI_ERROR_LINE_H_
#define EDGEVAE_TOOLS_UI_ERROR_LINE_H_

#include <string>
#include <string_view>

namespace edgevae::ui {

// Control characters (C0, DEL, C1) and bytes that are not UTF-8 become \xNN; printable UTF-8 is
// kept.
std::string Printable(std::string_view text);

// `message` as one printable line of at most ~1,000 characters: newlines become spaces, the rest
// goes through Printable, a longer message is cut and ends in "...".
std::string OneLine(std::string_view message);

// Writes "PROGRAM: error: MESSAGE" (OneLine) and a newline to stderr.
void PrintErrorLine(std::string_view program, std::string_view message);

}  // namespace edgevae::ui

#endif  // EDGEVAE_TOOLS_UI_ERROR_LINE_H_
