/* SPDX-License-Identifier: MIT */
/*
 * ICMP "destination unreachable" for packets the overlay cannot deliver, so a program on
 * this node learns at once that no member owns the address instead of waiting for a
 * timeout (RFC 792 type 3 code 1; RFC 4443 type 1 code 3).
 */
#ifndef NT_ICMP_H
#define NT_ICMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Builds the reply to pkt (an IP packet read from the TUN). Its source is the unreachable
 * destination itself: the kernel drops packets arriving on an interface "from" one of its
 * own addresses, and `ping` then reports "From <dst> Destination Host Unreachable".
 * Returns its length, or 0 when no reply is due (multicast or broadcast destination, an
 * ICMP error itself, a fragment, too short).
 */
size_t nt_icmp_unreachable(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap);
/* Internet checksum of len bytes (RFC 1071), starting from sum. */
uint16_t nt_inet_checksum(const void *data, size_t len, uint32_t sum);

#endif
