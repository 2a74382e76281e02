//! Interfaces in modules with any visibility; the client and server types follow the trait's
//! visibility, and `#[rpc_target]` accepts a path to the trait.

mod outer {
    pub mod inner {
        #[capnweb::rpc_interface]
        pub(crate) trait Hidden {
            async fn value(&self) -> u32;
        }

        #[capnweb::rpc_interface]
        pub trait Public {
            async fn value(&self) -> u32;
        }
    }

    pub struct Thing;

    #[capnweb::rpc_target]
    impl inner::Hidden for Thing {
        async fn value(&self) -> u32 {
            1
        }
    }

    #[capnweb::rpc_target]
    impl self::inner::Public for Thing {
        async fn value(&self) -> u32 {
            2
        }
    }
}

#[capnweb::rpc_interface]
trait Private {
    async fn value(&self) -> u32;
}

#[capnweb::rpc_target]
impl Private for outer::Thing {
    async fn value(&self) -> u32 {
        3
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    use outer::inner::{HiddenClient, PublicClient};
    let hidden: HiddenClient = outer::Thing.into();
    let public: PublicClient = outer::Thing.into();
    let private: PrivateClient = outer::Thing.into();
    assert_eq!(hidden.value().await.unwrap(), 1);
    assert_eq!(public.value().await.unwrap(), 2);
    assert_eq!(private.value().await.unwrap(), 3);
    // The server type is usable directly with the dynamic API.
    let stub = capnweb::Stub::new(outer::inner::PublicServer(outer::Thing));
    assert_eq!(stub.call("value", ()).typed::<u32>().await.unwrap(), 2);
}
