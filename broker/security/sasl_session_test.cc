// File: broker/security/sasl_session_test.cc
//
// One connection's SASL state machine (sasl_session.h) against real
// credentials: PLAIN and both SCRAM mechanisms logging in (SCRAM with the
// real client of common/security), a wrong password and an unknown user
// refused with the same message, PLAIN's authzid (CVE-2017-12610), a
// mechanism not offered, a SCRAM user of the other mechanism, a user deleted
// mid-exchange, calls out of order, and the raw-token mode of SaslHandshake
// v0.

#include "broker/security/sasl_session.h"

#include <gtest/gtest.h>

#include "broker/cluster/metadata_cache.h"
#include "common/security/scram.h"

namespace fjord::broker {
namespace {

namespace sec = fjord::security;
using std::string_literals::operator""s;

v1::User user(const std::string& name, sec::scram_mechanism m, const std::string& password) {
    auto c = sec::make_scram_credential(m, password);
    EXPECT_TRUE(c);
    v1::User u;
    u.set_name(name);
    auto* pc = u.mutable_credential();
    pc->set_mechanism(std::string(sec::to_string(m)));
    pc->set_salt(c->salt);
    pc->set_iterations(c->iterations);
    pc->set_stored_key(c->stored_key);
    pc->set_server_key(c->server_key);
    return u;
}

std::shared_ptr<const security_snapshot> snapshot(std::string mechanisms = "SCRAM,PLAIN",
                                                  bool with_users = true) {
    metadata_cache md;
    v1::WatchEvent ev;
    auto* s = ev.mutable_snapshot();
    s->set_revision(3);
    auto* c = s->add_cluster_config();
    c->set_key("sasl_mechanisms");
    c->set_value(mechanisms);
    if (with_users) {
        *s->add_users() = user("alice", sec::scram_mechanism::sha256, "alice-pw");
        *s->add_users() = user("bob", sec::scram_mechanism::sha512, "bob-pw");
    }
    ev.set_revision_complete(true);
    EXPECT_TRUE(md.apply(ev));
    return security_snapshot::build(md);
}

sasl_session::step plain(const std::string& message,
                         std::shared_ptr<const security_snapshot> snap = snapshot(),
                         sasl_session* out = nullptr) {
    sasl_session local;
    sasl_session& s = out != nullptr ? *out : local;
    EXPECT_EQ(s.handshake("PLAIN", 1, *snap), sasl_status::ok);
    return s.authenticate(message, snap);
}

/// A full SCRAM exchange; returns the last step.
sasl_session::step scram(const std::string& mech_name, sec::scram_mechanism m,
                         const std::string& name, const std::string& password, sasl_session& s,
                         std::shared_ptr<const security_snapshot> snap,
                         std::shared_ptr<const security_snapshot> final_snap = nullptr) {
    EXPECT_EQ(s.handshake(mech_name, 1, *snap), sasl_status::ok);
    sec::scram_client client(m);
    auto first = s.authenticate(client.client_first(name), snap);
    if (first.status != sasl_status::ok) {
        return first;
    }
    auto final_message = client.client_final(first.token, password);
    EXPECT_TRUE(final_message);
    auto last = s.authenticate(*final_message, final_snap ? final_snap : snap);
    if (last.status == sasl_status::ok) {
        EXPECT_TRUE(client.verify_server_final(last.token));
    }
    return last;
}

TEST(sasl_session, plain_logs_in_with_the_stored_scram_credential) {
    sasl_session s;
    auto step = plain("\0alice\0alice-pw"s, snapshot(), &s);
    EXPECT_EQ(step.status, sasl_status::ok);
    EXPECT_TRUE(step.token.empty());
    EXPECT_TRUE(s.complete());
    EXPECT_EQ(s.user(), "alice");
    // kafka-python sends the user as authzid too; bob's credential is SHA-512.
    EXPECT_EQ(plain("bob\0bob\0bob-pw"s).status, sasl_status::ok);
}

// FIPS mode's floor (tls::fips_min_password_length = 14): a PLAIN password
// under it is refused saying why, for a known and an unknown user alike; at
// 14 characters the stored credential decides.
TEST(sasl_session, plain_in_fips_mode_refuses_short_passwords) {
    metadata_cache md;
    v1::WatchEvent ev;
    auto* st = ev.mutable_snapshot();
    st->set_revision(3);
    auto* c = st->add_cluster_config();
    c->set_key("sasl_mechanisms");
    c->set_value("PLAIN");
    *st->add_users() = user("carol", sec::scram_mechanism::sha256, "thirteen-char");
    *st->add_users() = user("dave", sec::scram_mechanism::sha256, "fourteen-chars");
    ev.set_revision_complete(true);
    ASSERT_TRUE(md.apply(ev));
    const auto snap = security_snapshot::build(md);

    for (const auto& who : {"carol"s, "nobody"s}) {
        sasl_session s(14);
        auto step = plain("\0"s + who + "\0thirteen-char"s, snap, &s);
        EXPECT_EQ(step.status, sasl_status::authentication_failed) << who;
        EXPECT_EQ(step.message,
                  "Authentication failed: FIPS mode needs a password of at least 14 characters");
        EXPECT_EQ(s.current(), sasl_session::stage::failed);
    }
    sasl_session ok(14);
    EXPECT_EQ(plain("\0dave\0fourteen-chars"s, snap, &ok).status, sasl_status::ok);
    EXPECT_EQ(ok.user(), "dave");
    // Outside FIPS mode carol's 13 characters are her password.
    EXPECT_EQ(plain("\0carol\0thirteen-char"s, snap).status, sasl_status::ok);
}

TEST(sasl_session, wrong_password_and_unknown_user_fail_alike) {
    auto wrong = plain("\0alice\0nope"s);
    auto unknown = plain("\0nobody\0nope"s);
    EXPECT_EQ(wrong.status, sasl_status::authentication_failed);
    EXPECT_EQ(unknown.status, sasl_status::authentication_failed);
    EXPECT_EQ(wrong.message, unknown.message);
    EXPECT_EQ(wrong.message, authentication_failed_message);

    for (auto [mech, m] : {std::pair{"SCRAM-SHA-256", sec::scram_mechanism::sha256},
                           std::pair{"SCRAM-SHA-512", sec::scram_mechanism::sha512}}) {
        sasl_session a, b, c;
        auto wrong_pw = scram(mech, m, m == sec::scram_mechanism::sha256 ? "alice" : "bob", "nope",
                              a, snapshot());
        auto no_user = scram(mech, m, "nobody", "nope", b, snapshot());
        // alice holds a SHA-256 credential, bob a SHA-512 one: the other
        // mechanism fails like a wrong password.
        auto other =
            scram(mech, m, m == sec::scram_mechanism::sha256 ? "bob" : "alice",
                  m == sec::scram_mechanism::sha256 ? "bob-pw" : "alice-pw", c, snapshot());
        for (const auto* step : {&wrong_pw, &no_user, &other}) {
            EXPECT_EQ(step->status, sasl_status::authentication_failed) << mech;
            EXPECT_EQ(step->message, authentication_failed_message) << mech;
        }
        EXPECT_EQ(a.current(), sasl_session::stage::failed);
    }
}

TEST(sasl_session, scram_logs_in_with_both_mechanisms) {
    sasl_session a;
    auto step =
        scram("SCRAM-SHA-256", sec::scram_mechanism::sha256, "alice", "alice-pw", a, snapshot());
    EXPECT_EQ(step.status, sasl_status::ok) << step.message;
    EXPECT_TRUE(a.complete());
    EXPECT_EQ(a.user(), "alice");
    sasl_session b;
    step = scram("SCRAM-SHA-512", sec::scram_mechanism::sha512, "bob", "bob-pw", b, snapshot());
    EXPECT_EQ(step.status, sasl_status::ok) << step.message;
    EXPECT_EQ(b.user(), "bob");
}

TEST(sasl_session, a_user_deleted_mid_exchange_is_refused) {
    sasl_session s;
    auto step = scram("SCRAM-SHA-256", sec::scram_mechanism::sha256, "alice", "alice-pw", s,
                      snapshot(), snapshot("SCRAM,PLAIN", /*with_users=*/false));
    EXPECT_EQ(step.status, sasl_status::authentication_failed);
    EXPECT_FALSE(s.complete());
}

TEST(sasl_session, plain_refuses_another_authzid_and_malformed_messages) {
    auto step = plain("bob\0alice\0alice-pw"s);
    EXPECT_EQ(step.status, sasl_status::authentication_failed);
    EXPECT_NE(step.message.find("Authentication failed"), std::string::npos);
    EXPECT_EQ(step.message.find("alice-pw"), std::string::npos);
    EXPECT_EQ(plain("alice-pw").status, sasl_status::authentication_failed);
}

TEST(sasl_session, mechanisms_not_offered_are_unsupported) {
    sasl_session s;
    EXPECT_EQ(s.handshake("PLAIN", 1, *snapshot("SCRAM")), sasl_status::unsupported_mechanism);
    EXPECT_EQ(s.current(), sasl_session::stage::failed);
    sasl_session t;
    EXPECT_EQ(t.handshake("GSSAPI", 1, *snapshot()), sasl_status::unsupported_mechanism);
    sasl_session u;
    // Kafka matches mechanism names exactly.
    EXPECT_EQ(u.handshake("scram-sha-256", 1, *snapshot()), sasl_status::unsupported_mechanism);
}

TEST(sasl_session, calls_out_of_order_are_illegal) {
    auto snap = snapshot();
    sasl_session early;
    EXPECT_EQ(early.authenticate("x", snap).status, sasl_status::illegal_state);
    sasl_session twice;
    EXPECT_EQ(twice.handshake("PLAIN", 1, *snap), sasl_status::ok);
    EXPECT_EQ(twice.handshake("PLAIN", 1, *snap), sasl_status::illegal_state);
    sasl_session after;
    EXPECT_EQ(plain("\0alice\0alice-pw"s, snap, &after).status, sasl_status::ok);
    EXPECT_EQ(after.authenticate("\0alice\0alice-pw"s, snap).status, sasl_status::illegal_state);
    sasl_session failed;
    EXPECT_EQ(plain("\0alice\0bad"s, snap, &failed).status, sasl_status::authentication_failed);
    EXPECT_EQ(failed.authenticate("\0alice\0alice-pw"s, snap).status, sasl_status::illegal_state);
}

TEST(sasl_session, handshake_v0_means_raw_tokens_until_the_end) {
    auto snap = snapshot();
    sasl_session s;
    EXPECT_EQ(s.handshake("SCRAM-SHA-256", 0, *snap), sasl_status::ok);
    EXPECT_TRUE(s.raw_tokens());
    sec::scram_client client(sec::scram_mechanism::sha256);
    auto first = s.authenticate(client.client_first("alice"), snap);
    ASSERT_EQ(first.status, sasl_status::ok);
    EXPECT_TRUE(s.raw_tokens());
    auto final_message = client.client_final(first.token, "alice-pw");
    ASSERT_TRUE(final_message);
    EXPECT_EQ(s.authenticate(*final_message, snap).status, sasl_status::ok);
    EXPECT_FALSE(s.raw_tokens());
    sasl_session v1;
    EXPECT_EQ(v1.handshake("PLAIN", 1, *snap), sasl_status::ok);
    EXPECT_FALSE(v1.raw_tokens());
}

}  // namespace
}  // namespace fjord::broker
