/* SPDX-License-Identifier: MIT */
/*
 * The EdgeVPN configuration of DESIGN §2, verbatim: the tests of the parser and of the
 * token both check that it is accepted (examples/edgevpn.yaml holds the same text).
 */
#ifndef NT_TEST_EDGEVPN_SAMPLE_H
#define NT_TEST_EDGEVPN_SAMPLE_H

#define EDGEVPN_SAMPLE                                                                             \
	"otp:\n"                                                                                   \
	"  dht:\n"                                                                                 \
	"    interval: 9000\n"                                                                     \
	"    key: LHKNKT6YZYQGGY3JANGXMLJTHRH7SW3C\n"                                              \
	"    length: 32\n"                                                                         \
	"  crypto:\n"                                                                              \
	"    interval: 9000\n"                                                                     \
	"    key: SGIB6NYJMSRJF2AJDGUI2NDB5LBVCPLS\n"                                              \
	"    length: 32\n"                                                                         \
	"room: ubONSBFkdWbzkSBTglFzOhWvczTBQJOR\n"                                                 \
	"rendezvous: exoHOajMYMSPrHhevAEEjnCHLssFfzfT\n"                                           \
	"mdns: VoZfePlTchbSrdmivaqaOyQyEnTMlugi\n"                                                 \
	"max_message_size: 20971520\n"

#endif
