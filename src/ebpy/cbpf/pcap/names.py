"""The names a pcap-filter expression may use, built in: protocols, services, EtherTypes.

libpcap looks names up in ``/etc/protocols`` (``ip proto \\udp``), the services
database (``port http``: a port number, and whether the name is TCP, UDP or
both), and its own tables of EtherType and LLC SAP names (``ether proto \\ip``,
``ether proto \\stp``). ebpy carries those tables (the entries of Debian's
``netbase`` files) so that compiling never depends on the machine. Host and
network names are not here: ebpy does not resolve them.

>>> service_port("http"), service_port("domain"), service_port("ntp"), service_port("8080")
((80, 6), (53, None), (123, 17), (8080, None))
>>> ip_protocol("udp"), ip_protocol("IPv6-ICMP"), ether_protocol("ip6"), llc_sap("stp")
(17, 58, 34525, 66)
"""

from __future__ import annotations

__all__ = ["ether_protocol", "ip_protocol", "llc_sap", "service_port"]

IPPROTO_TCP = 6
IPPROTO_UDP = 17

# name/<t|u|b><port>: a TCP-only, UDP-only, or both (same port) service name or alias
_SERVICES = """
tcpmux/t1 echo/b7 discard/b9 sink/b9 null/b9 systat/t11 users/t11 daytime/b13
netstat/t15 qotd/t17 quote/t17 chargen/b19 ttytst/b19 source/b19 ftp-data/t20 ftp/t21
fsp/u21 fspd/u21 ssh/t22 telnet/t23 smtp/t25 mail/t25 time/b37 timserver/b37 whois/t43
nicname/t43 tacacs/b49 domain/b53 bootps/u67 bootpc/u68 tftp/u69 gopher/t70 finger/t79
http/t80 www/t80 kerberos/b88 kerberos5/b88 krb5/b88 kerberos-sec/b88 iso-tsap/t102
tsap/t102 acr-nema/t104 dicom/t104 pop3/t110 pop-3/t110 sunrpc/b111 portmapper/b111
auth/t113 authentication/t113 tap/t113 ident/t113 nntp/t119 readnews/t119 untp/t119
ntp/u123 epmap/t135 loc-srv/t135 netbios-ns/u137 netbios-dgm/u138 netbios-ssn/t139
imap2/t143 imap/t143 snmp/b161 snmp-trap/b162 snmptrap/b162 cmip-man/b163
cmip-agent/b164 mailq/t174 xdmcp/u177 bgp/t179 smux/t199 qmtp/t209 z3950/t210 wais/t210
ipx/u213 ptp-event/u319 ptp-general/u320 pawserv/t345 zserv/t346 rpc2portmap/b369
codaauth2/b370 clearcase/u371 Clearcase/u371 ldap/b389 svrloc/b427 https/b443 snpp/t444
microsoft-ds/t445 kpasswd/b464 submissions/t465 ssmtp/t465 smtps/t465 urd/t465 saft/t487
isakmp/u500 rtsp/b554 nqs/t607 asf-rmcp/u623 qmqp/t628 ipp/t631 ldp/b646 exec/t512
biff/u512 comsat/u512 login/t513 who/u513 whod/u513 shell/t514 cmd/t514 syslog/b514
printer/t515 spooler/t515 talk/u517 ntalk/u518 route/u520 router/u520 routed/u520
gdomap/b538 uucp/t540 uucpd/t540 klogin/t543 kshell/t544 krcmd/t544 dhcpv6-client/u546
dhcpv6-server/u547 afpovertcp/t548 nntps/t563 snntp/t563 submission/t587 ldaps/b636
tinc/b655 silc/t706 kerberos-adm/t749 domain-s/b853 rsync/t873 ftps-data/t989 ftps/t990
telnets/t992 imaps/t993 pop3s/t995 socks/t1080 proofd/t1093 rootd/t1094 openvpn/b1194
rmiregistry/t1099 lotusnote/t1352 lotusnotes/t1352 ms-sql-s/t1433 ms-sql-m/u1434
ingreslock/t1524 datametrics/b1645 old-radius/b1645 sa-msg-port/b1646 old-radacct/b1646
kermit/t1649 groupwise/t1677 l2f/u1701 l2tp/u1701 radius/b1812 radius-acct/b1813
radacct/b1813 cisco-sccp/t2000 nfs/b2049 gnunet/b2086 rtcm-sc104/b2101
gsigatekeeper/t2119 gris/t2135 cvspserver/t2401 venus/b2430 venus-se/b2431 codasrv/b2432
codasrv-se/b2433 mon/b2583 dict/t2628 f5-globalsite/t2792 gsiftp/t2811 gpsd/t2947
gds-db/t3050 gds_db/t3050 icpv2/u3130 icp/u3130 isns/b3205 iscsi-target/t3260
mysql/t3306 ms-wbt-server/t3389 nut/b3493 distcc/t3632 daap/t3689 svn/t3690
subversion/t3690 suucp/t4031 sysrqd/t4094 sieve/t4190 epmd/t4369 remctl/t4373
f5-iquery/t4353 ntske/t4460 ipsec-nat-t/u4500 iax/u4569 mtn/t4691 radmin-port/t4899
sip/b5060 sip-tls/b5061 xmpp-client/t5222 jabber-client/t5222 xmpp-server/t5269
jabber-server/t5269 cfengine/t5308 mdns/u5353 postgresql/t5432 postgres/t5432
freeciv/t5556 rptp/t5556 amqps/t5671 amqp/t5672 x11/t6000 x11-0/t6000 x11-1/t6001
x11-2/t6002 x11-3/t6003 x11-4/t6004 x11-5/t6005 x11-6/t6006 x11-7/t6007
gnutella-svc/b6346 gnutella-rtr/b6347 redis/t6379 sge-qmaster/t6444 sge_qmaster/t6444
sge-execd/t6445 sge_execd/t6445 mysql-proxy/t6446 babel/u6696 ircs-u/t6697 bbs/t7000
afs3-fileserver/u7000 afs3-callback/u7001 afs3-prserver/u7002 afs3-vlserver/u7003
afs3-kaserver/u7004 afs3-volser/u7005 afs3-bos/u7007 afs3-update/u7008 afs3-rmtsys/u7009
font-service/t7100 xfs/t7100 http-alt/t8080 webcache/t8080 puppet/t8140 bacula-dir/t9101
bacula-fd/t9102 bacula-sd/t9103 xmms2/t9667 nbd/t10809 zabbix-agent/t10050
zabbix-trapper/t10051 amanda/t10080 hkp/t11371 db-lsp/t17500 dcap/t22125 gsidcap/t22128
wnn6/t22273 kerberos4/b750 kerberos-iv/b750 kdc/b750 kerberos-master/b751
kerberos_master/u751 passwd-server/u752 passwd_server/u752 krb-prop/t754 krb_prop/t754
krb5_prop/t754 hprop/t754 zephyr-srv/u2102 zephyr-clt/u2103 zephyr-hm/u2104 iprop/t2121
supfilesrv/t871 supfiledbg/t1127 poppassd/t106 moira-db/t775 moira_db/t775
moira-update/t777 moira_update/t777 moira-ureg/u779 moira_ureg/u779 spamd/t783
skkserv/t1178 predict/u1210 rmtcfg/t1236 xtel/t1313 xtelw/t1314 zebrasrv/t2600
zebra/t2601 ripd/t2602 ripngd/t2603 ospfd/t2604 bgpd/t2605 ospf6d/t2606 ospfapi/t2607
isisd/t2608 fax/t4557 hylafax/t4559 munin/t4949 lrrd/t4949 rplay/u5555 nrpe/t5666
nsca/t5667 canna/t5680 syslog-tls/t6514 sane-port/t6566 sane/t6566 saned/t6566
ircd/t6667 zope-ftp/t8021 tproxy/t8081 omniorb/t8088 clc-build-daemon/t8990 xinetd/t9098
git/t9418 zope/t9673 webmin/t10000 kamanda/t10081 amandaidx/t10082 amidxtape/t10083
sgi-cmsd/u17001 sgi-crsd/u17002 sgi-gcd/u17003 sgi-cad/t17004 binkp/t24554 asp/b27374
csync2/t30865 dircproxy/t57000 tfido/t60177 fido/t60179
"""

# name,number[,alias...]
_PROTOCOLS = """
ip,0,IP hopopt,0,HOPOPT icmp,1,ICMP igmp,2,IGMP ggp,3,GGP ipencap,4,IP-ENCAP st,5,ST
tcp,6,TCP egp,8,EGP igp,9,IGP pup,12,PUP udp,17,UDP hmp,20,HMP xns-idp,22,XNS-IDP
rdp,27,RDP iso-tp4,29,ISO-TP4 dccp,33,DCCP xtp,36,XTP ddp,37,DDP idpr-cmtp,38,IDPR-CMTP
ipv6,41,IPv6 ipv6-route,43,IPv6-Route ipv6-frag,44,IPv6-Frag idrp,45,IDRP rsvp,46,RSVP
gre,47,GRE esp,50,IPSEC-ESP ah,51,IPSEC-AH skip,57,SKIP ipv6-icmp,58,IPv6-ICMP
ipv6-nonxt,59,IPv6-NoNxt ipv6-opts,60,IPv6-Opts rspf,73,RSPF,CPHB vmtp,81,VMTP
eigrp,88,EIGRP ospf,89,OSPFIGP ax.25,93,AX.25 ipip,94,IPIP etherip,97,ETHERIP
encap,98,ENCAP pim,103,PIM ipcomp,108,IPCOMP vrrp,112,VRRP l2tp,115,L2TP isis,124,ISIS
sctp,132,SCTP fc,133,FC mobility-header,135,Mobility-Header udplite,136,UDPLite
mpls-in-ip,137,MPLS-in-IP manet,138 hip,139,HIP shim6,140,Shim6 wesp,141,WESP
rohc,142,ROHC ethernet,143,Ethernet mptcp,262,MPTCP
"""

_ETHER_PROTOCOLS = {
    "aarp": 0x80F3,
    "arp": 0x0806,
    "atalk": 0x809B,
    "decnet": 0x6003,
    "ip": 0x0800,
    "ip6": 0x86DD,
    "lat": 0x6004,
    "loopback": 0x9000,
    "mopdl": 0x6001,
    "moprc": 0x6002,
    "rarp": 0x8035,
    "sca": 0x6007,
}

_LLC_SAPS = {"iso": 0xFE, "stp": 0x42, "ipx": 0xE0, "netbeui": 0xF0}


def _services() -> dict[str, tuple[int, int | None]]:
    table: dict[str, tuple[int, int | None]] = {}
    protos = {"t": IPPROTO_TCP, "u": IPPROTO_UDP, "b": None}
    for entry in _SERVICES.split():
        name, spec = entry.rsplit("/", 1)
        table[name] = (int(spec[1:]), protos[spec[0]])
    return table


def _protocols() -> dict[str, int]:
    table: dict[str, int] = {}
    for entry in _PROTOCOLS.split():
        name, number, *aliases = entry.split(",")
        for n in (name, *aliases):
            table.setdefault(n, int(number))
    return table


SERVICES = _services()
PROTOCOLS = _protocols()


def _numeric(name: str) -> int | None:
    return int(name) if name.isdigit() else None


def service_port(name: str) -> tuple[int, int | None] | None:
    """``(port, ip_proto)`` of a service name or number; ``ip_proto`` is None when
    the name is both TCP and UDP (as libpcap's ``pcap_nametoport``); None if unknown."""
    number = _numeric(name)
    if number is not None:
        return number, None
    return SERVICES.get(name)


def ip_protocol(name: str) -> int | None:
    """The IP protocol number of a name of ``/etc/protocols``, or None."""
    return PROTOCOLS.get(name)


def ether_protocol(name: str) -> int | None:
    """The EtherType of one of libpcap's EtherType names, or None."""
    return _ETHER_PROTOCOLS.get(name)


def llc_sap(name: str) -> int | None:
    """The LLC SAP of one of libpcap's LLC names (``iso``, ``stp``, ``ipx``, ``netbeui``)."""
    return _LLC_SAPS.get(name)
