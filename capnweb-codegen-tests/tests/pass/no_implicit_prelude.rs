//! The generated code uses absolute paths only: it compiles in a module without the prelude.

#![no_implicit_prelude]

mod api {
    /// An interface using every kind of method.
    #[::capnweb::rpc_interface]
    pub trait Echo {
        async fn echo(&self, s: ::std::string::String) -> ::std::string::String;
        async fn fallible(&self, fail: bool) -> ::core::result::Result<u32, ::capnweb::RpcError>;
        #[rpc(property)]
        async fn name(&self) -> ::std::string::String;
        #[rpc(invoke)]
        async fn call(&self, x: u32) -> u32;
        async fn cap(&self) -> EchoClient;
        async fn nothing(&self);
    }

    pub struct Impl;

    #[::capnweb::rpc_target]
    impl Echo for Impl {
        async fn echo(&self, s: ::std::string::String) -> ::std::string::String {
            s
        }
        async fn fallible(&self, fail: bool) -> ::core::result::Result<u32, ::capnweb::RpcError> {
            if fail {
                ::core::result::Result::Err(::capnweb::RpcError::new("E", "failed"))
            } else {
                ::core::result::Result::Ok(1)
            }
        }
        async fn name(&self) -> ::std::string::String {
            ::std::borrow::ToOwned::to_owned("echo")
        }
        async fn call(&self, x: u32) -> u32 {
            x + 1
        }
        async fn cap(&self) -> EchoClient {
            ::core::convert::From::from(Impl)
        }
        async fn nothing(&self) {}
    }

    /// An ad-hoc target.
    pub struct Adhoc;

    #[::capnweb::rpc_target]
    impl Adhoc {
        async fn hello(&self) -> u32 {
            1
        }
        #[rpc(property)]
        async fn value(&self) -> u32 {
            2
        }
        #[rpc(invoke)]
        async fn run(&self) -> u32 {
            3
        }
    }
}

fn main() {
    let rt = ::tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let echo = api::EchoClient::new(api::Impl);
        ::std::assert_eq!(echo.echo("hi").await.unwrap(), "hi");
        ::std::assert_eq!(echo.fallible(false).await.unwrap(), 1);
        ::std::assert!(echo.fallible(true).await.is_err());
        ::std::assert_eq!(echo.cap().name().await.unwrap(), "echo");
        ::std::assert_eq!(echo.call(1).await.unwrap(), 2);
        echo.nothing().await.unwrap();
        let adhoc: ::capnweb::Stub = ::core::convert::From::from(api::Adhoc);
        ::std::assert_eq!(adhoc.call("hello", ()).typed::<u32>().await.unwrap(), 1);
        ::std::assert_eq!(adhoc.get("value").typed::<u32>().await.unwrap(), 2);
        ::std::assert_eq!(adhoc.invoke(()).typed::<u32>().await.unwrap(), 3);
    });
}
