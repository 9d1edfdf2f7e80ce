/* The version idnode and idctl report (--version). */
#ifndef IDN_VERSION_H
#define IDN_VERSION_H

#define IDN_VERSION "0.1.0"

#endif
