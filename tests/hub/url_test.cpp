// URLs for the hub client: parts, Location headers, percent-encoding.
#include <gtest/gtest.h>

#include "hub/url.h"

namespace ig::hub {
namespace {

TEST(HubUrl, ParsesSchemeHostPortAndTarget) {
    auto u = parse_url("https://huggingface.co/api/models/a/b?x=1#frag");
    ASSERT_TRUE(u.ok()) << u.error().message;
    EXPECT_EQ(u->scheme, "https");
    EXPECT_EQ(u->host, "huggingface.co");
    EXPECT_EQ(u->port, "443");
    EXPECT_EQ(u->target, "/api/models/a/b?x=1");
    EXPECT_EQ(u->host_header(), "huggingface.co");
    EXPECT_EQ(u->origin(), "https://huggingface.co:443");

    auto p = parse_url("HTTP://127.0.0.1:8080");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->scheme, "http");
    EXPECT_EQ(p->port, "8080");
    EXPECT_EQ(p->target, "/");
    EXPECT_EQ(p->host_header(), "127.0.0.1:8080");
    EXPECT_EQ(p->str(), "http://127.0.0.1:8080/");
    EXPECT_EQ(p->origin(), "http://127.0.0.1:8080");

    auto v6 = parse_url("http://[::1]:9/x");
    ASSERT_TRUE(v6.ok());
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->host_header(), "[::1]:9");
    EXPECT_EQ(v6->origin(), "http://[::1]:9");
}

TEST(HubUrl, RefusesWhatItCannotFetch) {
    EXPECT_FALSE(parse_url("huggingface.co/x").ok());
    EXPECT_FALSE(parse_url("ftp://host/x").ok());
    EXPECT_FALSE(parse_url("http:///x").ok());
    EXPECT_FALSE(parse_url("http://host:99999999/").ok());
    EXPECT_FALSE(parse_url("http://host:8a/").ok());
    auto creds = parse_url("https://user:pw@host/");
    ASSERT_FALSE(creds.ok());
    EXPECT_NE(creds.error().message.find("HF_TOKEN"), std::string::npos);
}

TEST(HubUrl, ResolvesLocationHeaders) {
    auto base = parse_url("https://hub.example:8443/org/m/resolve/main/a.gguf?x=1");
    ASSERT_TRUE(base.ok());
    auto abs = resolve_location(*base, "https://cdn.example/obj/123?sig=abc");
    ASSERT_TRUE(abs.ok());
    EXPECT_EQ(abs->host, "cdn.example");
    EXPECT_EQ(abs->target, "/obj/123?sig=abc");
    auto path = resolve_location(*base, "/api/models/org/renamed");
    ASSERT_TRUE(path.ok());
    EXPECT_EQ(path->origin(), base->origin());
    EXPECT_EQ(path->target, "/api/models/org/renamed");
    auto rel = resolve_location(*base, "b.gguf#f");
    ASSERT_TRUE(rel.ok());
    EXPECT_EQ(rel->target, "/org/m/resolve/main/b.gguf");
    auto scheme_rel = resolve_location(*base, "//other.example/p");
    ASSERT_TRUE(scheme_rel.ok());
    EXPECT_EQ(scheme_rel->str(), "https://other.example/p");
    EXPECT_FALSE(resolve_location(*base, "").ok());
}

TEST(HubUrl, PercentEncodesRevisionsAndPaths) {
    EXPECT_EQ(percent_encode("refs/pr/1", false), "refs%2Fpr%2F1");
    EXPECT_EQ(percent_encode("sub dir/a+b.gguf", true), "sub%20dir/a%2Bb.gguf");
    EXPECT_EQ(percent_encode("Q4_K_M-v1.0~x", false), "Q4_K_M-v1.0~x");
}

}  // namespace
}  // namespace ig::hub
